#include "isa/caches.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fastmlp::isa {
namespace {

// The defaults: an L1d, L2 and L3 no x86-64 core of the last decade has less of.
constexpr int64_t kDefaultL1 = 32 << 10, kDefaultL2 = 256 << 10, kDefaultL3 = 8 << 20;

// "48K" -> 49152; -1 when not a size. sysfs writes "48K", FASTMLP_CACHES may use K, M or bytes.
int64_t parse_size(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return -1;
  int64_t mult = 1;
  const char unit = s.back();
  if (unit == 'K' || unit == 'k') mult = int64_t(1) << 10;
  if (unit == 'M' || unit == 'm') mult = int64_t(1) << 20;
  if (mult != 1) s.pop_back();
  if (s.empty() || s.size() > 12) return -1;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return -1;
    v = v * 10 + (ch - '0');
  }
  return v * mult;
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) std::getline(f, line);
  return line;
}

// Number of CPUs in a sysfs list such as "0-3,8-11".
int count_cpus(const std::string& list) {
  int count = 0;
  std::stringstream ss(list);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const auto dash = part.find('-');
    if (dash == std::string::npos) {
      count += !part.empty();
    } else {
      const int lo = std::atoi(part.substr(0, dash).c_str());
      const int hi = std::atoi(part.substr(dash + 1).c_str());
      count += hi >= lo ? hi - lo + 1 : 1;
    }
  }
  return count > 0 ? count : 1;
}

bool from_env(Caches* c) {
  const char* env = std::getenv("FASTMLP_CACHES");
  if (!env || !*env) return false;
  std::vector<int64_t> sizes;
  std::stringstream ss(env);
  std::string part;
  while (std::getline(ss, part, ',')) sizes.push_back(parse_size(part));
  if (sizes.size() != 3 || sizes[0] < 1024 || sizes[1] < sizes[0] || sizes[2] < 0)
    throw std::invalid_argument(std::string("FASTMLP_CACHES='") + env +
                                "' must be 'L1D,L2,L3' sizes in bytes or with a K/M suffix, "
                                "L1D >= 1K and L2 >= L1D (e.g. '32K,512K,32M')");
  *c = {sizes[0], sizes[1], sizes[2], 1, 1, "FASTMLP_CACHES"};
  return true;
}

bool from_sysfs(Caches* c) {
  bool any = false;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level = read_line(dir + "level"), type = read_line(dir + "type");
    if (level.empty()) break;
    const int64_t size = parse_size(read_line(dir + "size"));
    if (size <= 0 || type == "Instruction") continue;
    const int sharing = count_cpus(read_line(dir + "shared_cpu_list"));
    if (level == "1") c->l1d = size, any = true;
    if (level == "2") c->l2 = size, c->l2_sharing = sharing, any = true;
    if (level == "3") c->l3 = size, c->l3_sharing = sharing, any = true;
  }
  if (any) c->source = "sysfs";
  return any;
}

bool from_sysconf(Caches* c) {
  bool any = false;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE),
             l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l1 > 0) c->l1d = l1, any = true;
  if (l2 > 0) c->l2 = l2, any = true;
  if (l3 > 0) c->l3 = l3, any = true;
#endif
  if (any) c->source = "sysconf";
  return any;
}

Caches detect() {
  Caches c{kDefaultL1, kDefaultL2, kDefaultL3, 1, 1, "defaults"};
  if (from_env(&c)) return c;
  if (!from_sysfs(&c)) from_sysconf(&c);
  // A level that is missing or smaller than the one below it (a VM reporting nonsense) keeps
  // the blocking sane: each level at least the previous one.
  if (c.l1d < 4096) c.l1d = kDefaultL1;
  if (c.l2 < c.l1d) c.l2 = std::max<int64_t>(kDefaultL2, c.l1d);
  if (c.l3 < c.l2) c.l3 = c.l2;
  return c;
}

}  // namespace

const Caches& caches() {
  static std::mutex mu;
  static Caches detected;
  static bool done = false;
  std::lock_guard<std::mutex> lock(mu);
  if (!done) {
    detected = detect();  // throws for a bad FASTMLP_CACHES: asked again next time
    done = true;
  }
  return detected;
}

}  // namespace fastmlp::isa
