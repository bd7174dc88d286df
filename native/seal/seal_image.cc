#include "seal/seal_image.h"

#include "seal/erofs_writer.h"

namespace ovl {

Outcome<SealCounts> SealImage(const std::string& source, const std::string& store, const std::string& image) {
  // The image's directory (the seal's temporary) is left out should it lie inside SRC.
  auto tree = CollectTree(source, store, image.substr(0, image.rfind('/') + 1));
  if (tree.error) return tree.error;
  if (auto e = WriteErofsImage(tree.value, image)) {
    DropObjects(tree.value.pending);
    return e;
  }
  if (auto e = PublishObjects(tree.value.storeFd.get(), store, tree.value.pending)) return e;
  return tree.value.counts;
}

}  // namespace ovl
