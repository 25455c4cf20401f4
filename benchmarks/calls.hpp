// How a benchmark reaches an operation: through the notebook's form (new tensors and a cache each call),
// through the second form (into the caller's views), or straight to the internal kernel (no checks),
// labelled as such. Users call the first two; the third shows what the checks and dispatch cost.
#pragma once

namespace bench {

enum class Call { First, Second, Kernel };

}  // namespace bench
