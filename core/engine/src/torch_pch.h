#pragma once
// Precompiled header for every torch translation unit (engine library and its tests).
#include <torch/torch.h>
