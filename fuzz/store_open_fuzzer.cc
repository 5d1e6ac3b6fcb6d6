// The persistent store opened on arbitrary files (runtime/persistent_store.h,
// docs/card-image-format.md): a card image and a journal as a user's state directory could hold
// them after any damage, with the acknowledged-transaction witness. Oracles, when the store opens:
//  - opening again gives the same records (opening changes nothing that counts);
//  - a transaction committed on it is there after reopening;
//  - a power cut at every write index of that commit (torn or clean) leaves, after reopening,
//    exactly the state before or the state after the transaction, and after only when the store
//    acknowledged the commit.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "fuzz_input.h"
#include "runtime/persistent_store.h"
#include "runtime/storage_medium.h"

namespace {

using namespace dmcard;
using State = std::map<std::string, Bytes>;

State StateOf(const PersistentStore& s) {
  State m;
  for (const std::string& k : s.Keys("")) m[k] = *s.Get(k);
  return m;
}

std::string Describe(const State& m) {
  std::string out;
  for (const auto& [k, v] : m) out += k + "=" + ToHex(v).substr(0, 32) + "\n";
  return out;
}

std::shared_ptr<RamMedium> Copy(const RamMedium& from) {
  auto to = std::make_shared<RamMedium>(from);
  return to;
}

constexpr PersistentStore::Options kOptions{.capacity = 8 * 1024, .checkpoint_journal_bytes = 512};

// The transaction the input describes: a few puts, patches and erases.
void Write(PersistentStore& s, fuzz::FuzzInput& in, const State& before) {
  const int ops = 1 + in.Byte() % 4;
  for (int i = 0; i < ops; ++i) {
    const uint8_t what = in.Byte();
    std::string key = "k" + std::to_string(what % 5);
    if (!before.empty() && (what & 0x80) != 0) {
      auto it = before.begin();
      std::advance(it, in.Byte() % before.size());
      key = it->first;  // an existing record
    }
    switch ((what >> 4) & 3) {
      case 0:
      case 1: {
        const ByteView v = in.Piece();
        s.Put(key, v);
        break;
      }
      case 2:
        s.Patch(key, in.Byte(), in.Take(in.Byte() % 8));
        break;
      default:
        s.Erase(key);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const uint64_t acknowledged = in.Byte();
  const ByteView image = in.Piece(/*wide=*/true);
  const ByteView journal = in.Piece(/*wide=*/true);
  RamMedium files;
  if (flags & 1) files.Replace(MediumFile::kImage, image);
  if (flags & 2) files.Replace(MediumFile::kJournal, journal);
  // card.lock's witness came with format version 2: beside version-1 files it is left unset (a
  // version-1 directory holding a newer card's card.lock is a restored backup, which
  // docs/card-image-format.md says to open without card.lock).
  if ((flags & 1) != 0 && image.size() >= 6 && ReadU16(&image[4]) == PersistentStore::kImageVersion)
    files.RecordAcknowledged(acknowledged);

  State before;
  {
    auto medium = Copy(files);
    PersistentStore s(medium, kOptions);
    if (!s.open_error().empty()) return 0;
    before = StateOf(s);
    PersistentStore again(Copy(*medium), kOptions);
    if (!again.open_error().empty() || StateOf(again) != before) {
      fuzz::OracleViolation("store_open",
                            "opening twice gives different records: " + again.open_error() + "\n" +
                                Describe(before) + "---\n" + Describe(StateOf(again)));
    }
  }

  // One transaction, committed without a fault: the reference.
  const size_t tx_start = size - in.remaining();
  State after;
  uint64_t writes = 0;
  {
    auto ram = Copy(files);
    auto counting = std::make_shared<FaultInjectingMedium>(ram);
    PersistentStore s(counting, kOptions);
    s.Begin();
    Write(s, in, before);
    if (s.Commit() != StoreStatus::kOk) return 0;  // e.g. full: nothing more to check
    after = StateOf(s);
    writes = counting->physical_writes();
    PersistentStore r(ram, kOptions);
    if (!r.open_error().empty() || StateOf(r) != after) {
      fuzz::OracleViolation(
          "store_open", "a committed transaction is not there after reopening: " + r.open_error() +
                            "\n" + Describe(after) + "---\n" + Describe(StateOf(r)));
    }
  }
  // The same transaction with power cut after each number of writes.
  const bool torn = (flags & 4) != 0;
  for (uint64_t allowed = 0; allowed < writes; ++allowed) {
    fuzz::FuzzInput replay(data + tx_start, size - tx_start);
    auto ram = Copy(files);
    auto faulty = std::make_shared<FaultInjectingMedium>(ram);
    bool acked = false;
    {
      PersistentStore s(faulty, kOptions);
      faulty->CutPowerAfter(allowed, torn);
      s.Begin();
      Write(s, replay, before);
      acked = s.Commit() == StoreStatus::kOk;
    }
    PersistentStore r(ram, kOptions);
    if (!r.open_error().empty()) {
      fuzz::OracleViolation("store_open",
                            "a power cut after " + std::to_string(allowed) +
                                " writes leaves a card that does not open: " + r.open_error());
    }
    State now = StateOf(r);
    if (fuzz::Broken("store-cut")) now["torn"] = Bytes{1};  // a half-written record
    if (now != after && (acked || now != before)) {
      fuzz::OracleViolation("store_open",
                            "after a power cut after " + std::to_string(allowed) + " of " +
                                std::to_string(writes) + " writes (acknowledged: " +
                                (acked ? "yes" : "no") + ") the store holds neither the state " +
                                "before nor after the transaction:\n" + Describe(now));
    }
  }
  return 0;
}
