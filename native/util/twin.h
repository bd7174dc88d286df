// Exports one operation as a Promise form and a *Sync twin. Both run the same
// pure function: the Promise form in an AsyncWorker off the event loop, the
// twin on the calling thread. Arguments are read and results converted on
// the main thread only; the worker touches no JS value.
#pragma once

#include <napi.h>

#include <string>
#include <system_error>
#include <utility>

#include "util/exception_error.h"
#include "util/fault.h"
#include "util/js_error.h"
#include "util/sys_error.h"

namespace ovl {

template <typename Request, typename Result>
struct Operation {
  const char* name;
  Request (*parse)(const Napi::CallbackInfo&);  // throws a TypeError on bad input
  Outcome<Result> (*run)(const Request&);       // the system calls, no JS
  Napi::Value (*toJs)(Napi::Env, const Result&);
};

// The one way both twins run an operation: whatever the system calls throw
// (std::system_error from a thread that cannot start, std::bad_alloc...)
// comes back as an error with an errno, never as an exception.
template <typename Request, typename Result>
Outcome<Result> RunGuarded(const Operation<Request, Result>& op, const Request& request) noexcept {
  try {
    // The test addon can make any operation throw, as a system call's wrapper could.
    if (int injected = FaultAt(op.name)) throw std::system_error(injected, std::generic_category(), "injected");
    return op.run(request);
  } catch (...) {
    return CurrentExceptionError(op.name);
  }
}

// toJs for an operation that resolves to undefined.
inline Napi::Value UndefinedToJs(Napi::Env env, const Nothing&) { return env.Undefined(); }

template <typename Request, typename Result>
class OperationWorker : public Napi::AsyncWorker {
 public:
  OperationWorker(Napi::Env env, const Operation<Request, Result>& op, Request request)
      : Napi::AsyncWorker(env, op.name), op_(op), request_(std::move(request)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { outcome_ = RunGuarded(op_, request_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (outcome_.error) {
      deferred_.Reject(MakeJsError(env, outcome_.error));
    } else {
      deferred_.Resolve(op_.toJs(env, outcome_.value));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Operation<Request, Result> op_;
  Request request_;
  Outcome<Result> outcome_;
  Napi::Promise::Deferred deferred_;
};

template <typename Request, typename Result>
void ExportOperation(Napi::Env env, Napi::Object exports, const Operation<Request, Result>& op) {
  // The operation table is static, so capturing it by pointer is safe.
  const Operation<Request, Result>* opp = &op;
  exports.Set(op.name, Napi::Function::New(env, [opp](const Napi::CallbackInfo& info) -> Napi::Value {
    auto* worker = new OperationWorker<Request, Result>(info.Env(), *opp, opp->parse(info));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }, op.name));
  std::string syncName = std::string(op.name) + "Sync";
  exports.Set(syncName, Napi::Function::New(env, [opp](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Env env = info.Env();
    Outcome<Result> outcome = RunGuarded(*opp, opp->parse(info));
    if (outcome.error) throw Napi::Error(env, MakeJsError(env, outcome.error));
    return opp->toJs(env, outcome.value);
  }, syncName));
}

}  // namespace ovl
