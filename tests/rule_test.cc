#include "tailor/rule.h"
