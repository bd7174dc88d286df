// The Merkle tree is built level by level: the data blocks' hashes are kept
// (32 bytes per 4096, under 1% of the file), then packed 128 to a block and
// hashed again until one hash is left. SHA-256 is Node's own OpenSSL (its
// symbols are the process's), which uses the CPU's SHA instructions.
#include "images/fsverity_digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr size_t kBlockSize = 4096;
constexpr size_t kHashSize = 32;
constexpr uint8_t kLogBlockSize = 12;
constexpr uint8_t kSha256Algorithm = 1;  // FS_VERITY_HASH_ALG_SHA256
constexpr size_t kReadSize = 256 * kBlockSize;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) throw std::bad_alloc();
  }
  void Hash(const uint8_t* data, size_t size, uint8_t* out) {
    unsigned int length = 0;
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
    EVP_DigestUpdate(ctx_.get(), data, size);
    EVP_DigestFinal_ex(ctx_.get(), out, &length);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx_;
};

// One level up: the hashes packed into zero-padded blocks, each block hashed.
std::vector<uint8_t> HashLevel(Sha256& sha, const std::vector<uint8_t>& hashes) {
  std::vector<uint8_t> up;
  uint8_t block[kBlockSize];
  for (size_t at = 0; at < hashes.size(); at += kBlockSize) {
    size_t n = std::min(kBlockSize, hashes.size() - at);
    std::memcpy(block, hashes.data() + at, n);
    std::memset(block + n, 0, kBlockSize - n);
    up.resize(up.size() + kHashSize);
    sha.Hash(block, kBlockSize, up.data() + up.size() - kHashSize);
  }
  return up;
}

void PutLe64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Outcome<VerityDigest> FsverityDigestOfFd(int fd, const std::string& path) {
  Sha256 sha;
  std::vector<uint8_t> level;  // the data blocks' hashes
  // No bigger than the file (most are a few blocks), and not zeroed: a
  // zero-filled 1 MiB buffer per file was a tenth of a seal's time.
  size_t chunk = kReadSize;
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < kReadSize) {
    chunk = (static_cast<size_t>(st.st_size) / kBlockSize + 1) * kBlockSize;
  }
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[chunk]);
  uint64_t size = 0;
  for (;;) {
    // Fill the buffer whole unless the file ends: a short read mid-file must not look like its end.
    size_t got = 0;
    while (got < chunk) {
      ssize_t n = pread(fd, buffer.get() + got, chunk - got, static_cast<off_t>(size + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return SysError::FromErrno("read", path);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    size += got;
    if (got % kBlockSize != 0) std::memset(buffer.get() + got, 0, kBlockSize - got % kBlockSize);
    for (size_t at = 0; at < got; at += kBlockSize) {
      level.resize(level.size() + kHashSize);
      sha.Hash(buffer.get() + at, kBlockSize, level.data() + level.size() - kHashSize);
    }
    if (got < chunk) break;
  }
  // An empty file's root is all zeroes; one block's root is that block's hash.
  while (level.size() > kHashSize) level = HashLevel(sha, level);

  uint8_t descriptor[256] = {};
  descriptor[0] = 1;  // version
  descriptor[1] = kSha256Algorithm;
  descriptor[2] = kLogBlockSize;
  descriptor[3] = 0;  // salt size
  PutLe64(descriptor + 8, size);
  if (!level.empty()) std::memcpy(descriptor + 16, level.data(), kHashSize);
  VerityDigest digest{};
  sha.Hash(descriptor, sizeof descriptor, digest.data());
  return digest;
}

Outcome<VerityDigest> FsverityDigestOfPath(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return SysError::FromErrno("open", path);
  return FsverityDigestOfFd(fd.get(), path);
}

std::string DigestHex(const VerityDigest& digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest.size() * 2);
  for (uint8_t b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

}  // namespace ovl
