#include "CWireSystem.h"
