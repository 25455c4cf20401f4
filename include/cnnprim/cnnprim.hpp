// The umbrella header: everything cnnprim offers.
#pragma once

#include "conv.hpp"
#include "errors.hpp"
#include "geometry.hpp"
#include "numpy/random.hpp"
#include "pad.hpp"
#include "pool.hpp"
#include "params.hpp"
#include "tensor.hpp"
#include "threads.hpp"
