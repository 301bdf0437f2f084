// SPDX-License-Identifier: MIT
// embed_predict MODEL INPUTS.csv: loads a model saved by Python's MLP.save (or C++'s save),
// reads one sample per CSV line (a first line that is not numbers is a header) and prints one
// line per sample: the class label and the probabilities, or the outputs of a regression.
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <mlpcore/mlpcore.hpp>

template <class S>
int run(const mlpcore::BasicMlp<S>& net, std::ifstream& csv) {
  std::fprintf(stderr, "%s", mlpcore::describe(net).c_str());
  mlpcore::Predictor<S> predictor(net);  // one per thread; allocates nothing per sample
  const bool labels = mlpcore::predicts_labels(net.spec());
  const bool regression = net.spec().output == mlpcore::Output::Identity;
  std::vector<S> x, out(static_cast<std::size_t>(predictor.n_outputs()));
  std::string line, cell;
  for (long line_no = 1; std::getline(csv, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    x.clear();
    std::istringstream cells(line);
    try {
      while (std::getline(cells, cell, ',')) x.push_back(static_cast<S>(std::stod(cell)));
    } catch (const std::exception&) {
      if (line_no == 1) continue;  // a header
      std::fprintf(stderr, "line %ld: not a number: '%s'\n", line_no, cell.c_str());
      return 1;
    }
    if (x.size() != static_cast<std::size_t>(predictor.n_inputs())) {
      std::fprintf(stderr, "line %ld has %zu values, the model expects %lld\n", line_no, x.size(),
                   static_cast<long long>(predictor.n_inputs()));
      return 1;
    }
    if (regression) predictor.logits_one(x.data(), out.data());
    else predictor.probabilities_one(x.data(), out.data());
    if (labels) std::printf("%s", mlpcore::class_name(net, predictor.label_one(x.data())).c_str());
    for (std::size_t j = 0; j < out.size(); ++j)  // enough digits to read back the same S
      std::printf("%s%.*g", j || labels ? "," : "", std::numeric_limits<S>::max_digits10, double(out[j]));
    std::printf("\n");
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors INPUTS.csv\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream csv(argv[2]);
    if (!csv) throw std::runtime_error(std::string("cannot open ") + argv[2]);
    mlpcore::LoadedModel model = mlpcore::load(argv[1]);  // float32 or float64, as saved
    return model.f32 ? run(*model.f32, csv) : run(*model.f64, csv);
  } catch (const std::exception& e) {  // FormatError, IoError, invalid_argument
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
