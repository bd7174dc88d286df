// zstdOpen / zstdPush / zstdClose: a zstd stream (libzstd, linked), driven a
// slice at a time and synchronously, for unpack's zstd layers and commit's
// `compression: 'zstd'` (lib/oci/compression/zstd-sync.ts). Node 20's zlib
// has no zstd, and a codec called once per slice inside one walk has no
// Promise twin: each call is a bounded piece of CPU work, like zlib's
// writeSync that lib/oci/compression/zlib-sync.ts drives the same way.
// A stream's context is freed by zstdClose (or when its handle is collected).
#include <napi.h>
#include <zstd.h>

#include <string>
#include <vector>

namespace ovl {
namespace {

// One direction's context; the other pointer stays null.
struct ZstdStream {
  ZSTD_DCtx* d = nullptr;
  ZSTD_CCtx* c = nullptr;
  // Decompressing: zstd's last hint; 0 means the last frame ended (the stream may end here).
  size_t pending = 0;
  // The output slice, made once: a slice per call would be allocated and zeroed per tar header.
  std::vector<char> out;
  void Close() {
    if (d) ZSTD_freeDCtx(d);
    if (c) ZSTD_freeCCtx(c);
    d = nullptr;
    c = nullptr;
  }
  ~ZstdStream() { Close(); }
};

// Marks our handles, so another External passed in is refused, not misread.
constexpr napi_type_tag kZstdTag = {0x6f766c5f7a737464ULL, 0x5f73747265616d31ULL};

// A zstd failure as an Error whose code says it is zstd's (the caller names the layer).
Napi::Error ZstdError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "ZSTD_ERROR"));
  return e;
}

// zstdOpen(compress, level): a new stream; level is used only when compressing.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool compress = info[0].ToBoolean().Value();
  auto* s = new ZstdStream();
  if (compress) {
    s->c = ZSTD_createCCtx();
    int level = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : ZSTD_CLEVEL_DEFAULT;
    if (s->c && ZSTD_isError(ZSTD_CCtx_setParameter(s->c, ZSTD_c_compressionLevel, level))) s->Close();
    // The content checksum, as the zstd program writes by default.
    if (s->c) ZSTD_CCtx_setParameter(s->c, ZSTD_c_checksumFlag, 1);
    // One libzstd worker thread compresses while the caller goes on making the tar, as `tar -c | zstd`
    // runs on two cores; a libzstd built without threads refuses it and compresses in the call, as before.
    if (s->c) ZSTD_CCtx_setParameter(s->c, ZSTD_c_nbWorkers, 1);
  } else {
    s->d = ZSTD_createDCtx();
  }
  if (!s->c && !s->d) {
    delete s;
    throw ZstdError(env, "zstd: cannot make a context (out of memory, or a bad level)");
  }
  s->out.resize(s->c ? ZSTD_CStreamOutSize() : ZSTD_DStreamOutSize());
  auto handle = Napi::External<ZstdStream>::New(env, s, [](Napi::Env, ZstdStream* z) { delete z; });
  handle.TypeTag(&kZstdTag);
  return handle;
}

ZstdStream* StreamAt(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal() || !info[0].As<Napi::Object>().CheckTypeTag(&kZstdTag)) throw Napi::TypeError::New(info.Env(), "stream must be a handle from zstdOpen");
  ZstdStream* s = info[0].As<Napi::External<ZstdStream>>().Data();
  if (!s->c && !s->d) throw ZstdError(info.Env(), "zstd: the stream is closed");
  return s;
}

// Output is gathered in slices of zstd's recommended size.
void Flush(std::vector<Napi::Value>& out, Napi::Env env, std::vector<char>& buf, size_t used) {
  if (used > 0) out.push_back(Napi::Buffer<char>::Copy(env, buf.data(), used));
}

// zstdPush(stream, input, end): every output slice the input gives. With end
// set, a compressor finishes its frame, and a decompressor throws if the
// stream stopped inside a frame (it was cut short).
Napi::Value Push(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ZstdStream* s = StreamAt(info);
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "input must be a Buffer");
  Napi::Buffer<char> input = info[1].As<Napi::Buffer<char>>();
  bool end = info[2].ToBoolean().Value();
  ZSTD_inBuffer in = {input.Data(), input.Length(), 0};
  std::vector<Napi::Value> out;
  std::vector<char>& buf = s->out;
  if (s->c) {
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer o = {buf.data(), buf.size(), 0};
      size_t left = ZSTD_compressStream2(s->c, &o, &in, mode);
      if (ZSTD_isError(left)) throw ZstdError(env, std::string("zstd: ") + ZSTD_getErrorName(left));
      Flush(out, env, buf, o.pos);
      // Continuing: done once the input is taken and the buffer was not filled; ending: once zstd says nothing is left.
      if (end ? left == 0 : (in.pos == in.size && o.pos < o.size)) break;
    }
  } else {
    for (;;) {
      ZSTD_outBuffer o = {buf.data(), buf.size(), 0};
      size_t taken = in.pos;
      size_t hint = ZSTD_decompressStream(s->d, &o, &in);
      if (ZSTD_isError(hint)) throw ZstdError(env, std::string("zstd: ") + ZSTD_getErrorName(hint));
      // A call that took and gave nothing (no input left after a frame ended) hints at a frame not begun: not kept.
      if (in.pos != taken || o.pos > 0) s->pending = hint;
      Flush(out, env, buf, o.pos);
      // A full output buffer may hold more back; otherwise the input is used up.
      if (in.pos == in.size && o.pos < o.size) break;
    }
    if (end && s->pending != 0) throw ZstdError(env, "zstd: the stream ends inside a frame (truncated)");
  }
  Napi::Array result = Napi::Array::New(env, out.size());
  for (uint32_t i = 0; i < out.size(); i++) result.Set(i, out[i]);
  return result;
}

// zstdClose(stream): its context freed now, not at collection.
Napi::Value Close(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal() || !info[0].As<Napi::Object>().CheckTypeTag(&kZstdTag)) throw Napi::TypeError::New(info.Env(), "stream must be a handle from zstdOpen");
  info[0].As<Napi::External<ZstdStream>>().Data()->Close();
  return info.Env().Undefined();
}

}  // namespace

void InitZstd(Napi::Env env, Napi::Object exports) {
  exports.Set("zstdOpen", Napi::Function::New(env, Open, "zstdOpen"));
  exports.Set("zstdPush", Napi::Function::New(env, Push, "zstdPush"));
  exports.Set("zstdClose", Napi::Function::New(env, Close, "zstdClose"));
}

}  // namespace ovl
