// The test addon's failure points (util/fault.h): armed from JS with
// injectFault(point, errno, mountTmpfsOn?, kill?), each fires once, on whichever
// thread reaches it (the Promise forms run on libuv's).
#include <sys/mount.h>

#include <csignal>

#include <napi.h>

#include <map>
#include <mutex>
#include <string>

#include "util/args.h"
#include "util/fault.h"

namespace ovl {
namespace {

struct Fault {
  int errnum = 0;
  std::string mountTmpfsOn;  // a mount made by "someone else" at this point
  bool kill = false;         // the process killed at this point, as a crash would
};

std::mutex gMutex;
std::map<std::string, Fault> gArmed;

void InjectFault(const Napi::CallbackInfo& info) {
  std::string point = args::StringAt(info, 0, "point");
  Fault fault;
  fault.errnum = static_cast<int>(args::Uint32At(info, 1, "errno"));
  fault.mountTmpfsOn = args::StringAt(info, 2, "mountTmpfsOn", false);
  fault.kill = info.Length() > 3 && info[3].ToBoolean().Value();
  std::lock_guard<std::mutex> lock(gMutex);
  gArmed[point] = fault;
}

// The points armed and not reached, so a test can tell that its point fired.
Napi::Value ArmedFaults(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gMutex);
  Napi::Array out = Napi::Array::New(info.Env(), gArmed.size());
  uint32_t i = 0;
  for (const auto& entry : gArmed) out.Set(i++, entry.first);
  gArmed.clear();
  return out;
}

}  // namespace

int FaultAt(const char* point) {
  Fault fault;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    auto it = gArmed.find(point);
    if (it == gArmed.end()) return 0;
    fault = it->second;
    gArmed.erase(it);
  }
  if (fault.kill) ::raise(SIGKILL);
  if (!fault.mountTmpfsOn.empty()) ::mount("tmpfs", fault.mountTmpfsOn.c_str(), "tmpfs", 0, "size=64k");
  return fault.errnum;
}

void InitFaults(Napi::Env env, Napi::Object exports) {
  exports.Set("injectFault", Napi::Function::New(env, InjectFault, "injectFault"));
  exports.Set("takeArmedFaults", Napi::Function::New(env, ArmedFaults, "takeArmedFaults"));
}

}  // namespace ovl
