#include "check.hpp"
CHECK_MAIN()
