// mallocInUse(): the bytes glibc's malloc has handed out and not had back
// (mallinfo2: in use in its arenas plus its own mmapped blocks). The soak
// tests judge native leaks by it: RSS also moves with how arenas are kept and
// how V8 sizes its heap, by tens of MB with nothing leaked.
#include <malloc.h>

#include <napi.h>

namespace ovl {

static Napi::Value MallocInUse(const Napi::CallbackInfo& info) {
  struct mallinfo2 m = ::mallinfo2();
  return Napi::Number::New(info.Env(), static_cast<double>(m.uordblks + m.hblkhd));
}

void InitMallocStats(Napi::Env env, Napi::Object exports) { exports.Set("mallocInUse", Napi::Function::New(env, MallocInUse, "mallocInUse")); }

}  // namespace ovl
