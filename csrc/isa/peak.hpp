// The FMA peak of one core, measured in process: what "% of peak" in fastmlp's benchmarks is
// a percentage of, on the machine and instruction set the numbers were taken with.
#pragma once

#include <string>

namespace fastmlp::isa {

// GFLOP/s of the isa table entry `name` (empty: the active one) in float32 (f64 false) or
// float64 on the calling thread: the best of `runs` runs of about `seconds` of its CPU time
// each (thread CPU time, so that another process sharing the core does not lower it). Throws like set_isa for a name this
// CPU cannot run.
double fma_peak_gflops(const std::string& name, bool f64, double seconds, int runs);

}  // namespace fastmlp::isa
