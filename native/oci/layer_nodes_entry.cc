// makeLayerNode (and its *Sync twin): a device or fifo made (mknod) for
// unpack's layer writer (lib/oci/layer-writer.ts), which Node's fs cannot do.
// The writer has checked every name and made every parent in a directory
// only it fills; this acts on the path it gives.
#include <napi.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct NodeRequest {
  std::string path;
  mode_t type = 0;  // S_IFCHR, S_IFBLK or S_IFIFO
  mode_t mode = 0;
  dev_t device = 0;
};

bool ParseNodeType(const std::string& name, mode_t* out) {
  if (name == "chardev") *out = S_IFCHR;
  else if (name == "blockdev") *out = S_IFBLK;
  else if (name == "fifo") *out = S_IFIFO;
  else return false;
  return true;
}

// (path, 'chardev' | 'blockdev' | 'fifo', mode, major, minor)
NodeRequest ParseNodeRequest(const Napi::CallbackInfo& info) {
  NodeRequest r;
  r.path = args::PathBytes(info.Env(), info[0], "path");
  r.type = args::EnumAt<mode_t>(info, 1, "node type", ParseNodeType, 0);
  if (r.type == 0) throw Napi::TypeError::New(info.Env(), "node type must be 'chardev', 'blockdev' or 'fifo'");
  r.mode = args::Uint32At(info, 2, "mode") & 07777;
  r.device = makedev(args::Uint32At(info, 3, "major"), args::Uint32At(info, 4, "minor"));
  return r;
}

// The mode is set by the writer afterwards (with the owner): mknod's is masked by the umask.
Outcome<Nothing> RunMakeNode(const NodeRequest& r) {
  if (::mknodat(AT_FDCWD, r.path.c_str(), r.type | (r.mode & 0777), r.type == S_IFIFO ? 0 : r.device) != 0) return SysError::FromErrno("mknod", r.path);
  return Nothing{};
}

const Operation<NodeRequest, Nothing> kMakeLayerNode{"makeLayerNode", ParseNodeRequest, RunMakeNode, UndefinedToJs};

}  // namespace

void InitLayerNodes(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kMakeLayerNode);
}

}  // namespace ovl
