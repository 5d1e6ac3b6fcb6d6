// Power cut at every write of every use case (issue 13 item 2): every golden trace of
// apdu-specs/traces (the use cases UC511/a/b, UC512, UC521, UC-CR with bootstrap install, FUMO,
// the UICC access sequences; SCP03 key-set counter updates and event-log entries on the way) and
// the issuer's personalization of a blank card over SCP03.
//
// The model is a reference run of the same scenario on a card that is never cut: before and after
// each APDU that writes, the state a card powered up on a copy of its memory holds (every record of
// the persistent store). Then, for every APDU and every physical write it makes, a fresh card runs
// the scenario up to that APDU, power is cut after that many of its writes (a clean cut; a torn
// one that leaves the first half of the failing write behind; and one that leaves all of its
// length with the middle third never written), and the card is powered up again on what its
// memory kept. Its state must be exactly the reference's before the APDU or after it: the command
// fully done or not done at all. With equal persistent state, a freshly powered card answers every
// later command as the reference does; the golden-trace tests check those answers themselves.
//
// Cards here are deterministic (seeded random generator, fixed clock), so the reference and every
// cut run make the same writes in the same order; a run whose cut never happens fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cards/make_card.h"
#include "host/dm_session.h"
#include "host/personalization.h"
#include "host/profile_file.h"
#include "host/reader.h"
#include "host/trace.h"
#include "host/trace_formats.h"
#include "host/trace_runner.h"
#include "runtime/storage_medium.h"

namespace dmcard {
namespace {

namespace fs = std::filesystem;

// Every record of a card's persistent store.
using Snapshot = std::map<std::string, Bytes>;

constexpr int64_t kClock = 1700000000;

const fs::path kSource = DMCARD_SOURCE_DIR;

// The card of `profile` on `medium`; null with `error` when it refuses to start.
std::unique_ptr<Card> CardOn(const Profile& profile, std::shared_ptr<StorageMedium> medium,
                             std::string& error) {
  const uint8_t seed[16] = {0x13, 0x02};
  return MakeCard(profile, CardConfigFor(profile),
                  Platform{std::move(medium), crypto::Drbg::FromSeed(seed), [] { return kClock; }},
                  error);
}

// What a card of `profile` holds once powered up on `medium`; a card that refuses to start holds
// one pseudo-record naming why (which equals no state the reference run saw).
Snapshot StateOn(const Profile& profile, std::shared_ptr<StorageMedium> medium) {
  Snapshot s;
  std::string error;
  auto card = CardOn(profile, std::move(medium), error);
  if (!card) {
    s["<refuses to start>"] = Bytes(error.begin(), error.end());
    return s;
  }
  for (const std::string& key : card->store().Keys("")) s[key] = *card->store().Get(key);
  return s;
}

// The card as a scenario's reader. It counts the physical writes of every APDU and, when told,
// cuts power during APDU number `cut_apdu` after `cut_writes` of its writes; from then on the
// card is gone (every call fails), as a card whose power was cut.
class TearReader final : public Reader {
 public:
  TearReader(Card& card, FaultInjectingMedium& medium) : card_(card), medium_(medium) {}

  void CutDuring(size_t apdu, uint64_t writes, FaultInjectingMedium::Tear tear) {
    cut_apdu_ = apdu;
    cut_writes_ = writes;
    tear_ = tear;
  }
  // Called after every APDU with its index and the number of physical writes it made.
  std::function<void(size_t, uint64_t)> after_apdu;

  bool gone() const { return gone_; }
  size_t apdus() const { return apdus_; }

  std::string name() const override { return "tear-campaign card"; }
  bool Connect(Bytes& atr, std::string& error) override { return PowerOn(atr, error); }
  bool Transmit(ByteView command, Bytes& response, std::string& error) override {
    if (!Alive(error)) return false;
    if (cut_apdu_ == apdus_) medium_.CutPowerAfter(cut_writes_, tear_);
    const uint64_t before = medium_.physical_writes();
    response = card_.Transmit(command);
    const uint64_t writes = medium_.physical_writes() - before;
    if (after_apdu) after_apdu(apdus_, writes);
    ++apdus_;
    if (medium_.power_cut()) gone_ = true;
    return true;
  }
  bool Reset(Bytes& atr, std::string& error) override {
    if (!Alive(error)) return false;
    atr = card_.Reset();
    return true;
  }
  bool PowerOff(std::string& error) override {
    if (!Alive(error)) return false;
    card_.PowerOff();
    return true;
  }
  bool PowerOn(Bytes& atr, std::string& error) override {
    if (!Alive(error)) return false;
    atr = card_.PowerOn();
    return true;
  }
  bool Remove(std::string& error) override { return PowerOff(error); }
  bool Insert(Bytes& atr, std::string& error) override { return PowerOn(atr, error); }

 private:
  bool Alive(std::string& error) const {
    if (gone_) error = "power was cut";
    return !gone_;
  }

  Card& card_;
  FaultInjectingMedium& medium_;
  size_t cut_apdu_ = SIZE_MAX;
  uint64_t cut_writes_ = 0;
  FaultInjectingMedium::Tear tear_ = FaultInjectingMedium::Tear::kNone;
  bool gone_ = false;
  size_t apdus_ = 0;
};

// A use case as the parties drive it, over a reader. False when it could not run to its end on a
// card that is never cut (a broken scenario, not a finding).
using Scenario = std::function<bool(Reader&, std::string& error)>;

// A golden trace run by the trace runner, stopping at the first step that fails.
Scenario TraceScenario(const fs::path& file) {
  return [file](Reader& reader, std::string& error) {
    Trace trace;
    if (!ReadTraceFile(file, TraceFormat::kAuto, trace, error)) return false;
    RunOptions options;
    options.honour_delays = false;
    options.stop_at_first_failure = true;
    const RunResult r = RunTrace(trace, reader, options, nullptr);
    if (r.ok()) return true;
    error = r.connect_error;
    for (const CaseResult& c : r.cases) {
      for (const std::string& m : c.messages) error += "\n[" + c.name + "] " + m;
    }
    return false;
  };
}

// `dmcard personalize`: the issuer loads profiles/demo into a blank card (DGIs in STORE DATA
// blocks over SCP03, level 33), as host-tools/dm_commands.cc RunPersonalize does.
Scenario PersonalizationScenario() {
  return [](Reader& reader, std::string& error) {
    const fs::path demo = kSource / "profiles" / "demo" / "profile.json";
    const fs::path blank =
        kSource / "tests" / "data" / "dm" / "profiles" / "blank" / "profile.json";
    auto keys = FindKeySet({blank.string(), "@issuer"}, error);
    auto profile = keys ? ReadHostProfile(demo, error) : std::nullopt;
    auto dgis = profile ? PersonalizationDgis(*profile, keys->dek, error) : std::nullopt;
    auto blocks = dgis ? StoreDataCommands(*dgis, error) : std::nullopt;
    if (!blocks) return false;
    Bytes atr;
    if (!reader.Connect(atr, error)) return false;
    auto session = DmSession::OpenSecure(reader, *keys, 0x33, error);
    if (!session) return false;
    for (const Bytes& block : *blocks) {
      Bytes r;
      if (!session->Transmit(block, r, error)) return false;
      if (r.size() < 2 || r[r.size() - 2] != 0x90 || r.back() != 0x00) {
        error = "a STORE DATA block answered " + ToHex(r);
        return false;
      }
    }
    return true;
  };
}

struct Campaign {
  std::string name;
  Profile profile;
  Scenario scenario;
};

struct Figures {
  size_t apdus = 0;                     // APDUs of the scenario
  size_t writing_apdus = 0;             // those that write
  size_t cut_points = 0;                // (APDU, write index) pairs tried, each cut three ways
  size_t done = 0;                      // cuts after which the card shows the command done
  size_t not_done = 0;                  // ... not done
  size_t counted = 0;                   // ... not done, but its durable-by-design records counted
  std::vector<std::string> violations;  // cuts after which it shows neither
  std::map<uint64_t, size_t> writes;    // writing APDUs by their number of physical writes
};

// What may happen to the memory between the cut and the next power-up (the oracle's own test
// damages it; the campaign leaves it alone).
using Damage = std::function<void(RamMedium&)>;

// Names the records in which two states differ, for the failure message.
std::string Differences(const Snapshot& a, const Snapshot& b) {
  std::string out;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end()) {
      out += " -" + key;
    } else if (it->second != value) {
      out += " ~" + key;
    }
  }
  for (const auto& [key, value] : b) {
    if (!a.count(key)) out += " +" + key;
  }
  return out;
}

// The records in which two states differ.
std::vector<std::string> ChangedRecords(const Snapshot& a, const Snapshot& b) {
  std::vector<std::string> out;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end() || it->second != value) out.push_back(key);
  }
  for (const auto& [key, value] : b) {
    if (!a.count(key)) out.push_back(key);
  }
  return out;
}

// A medium that tells when the store has made a transaction durable (the store records the number
// of each transaction it acknowledges, runtime/storage_medium.h).
class CommitWatch final : public StorageMedium {
 public:
  CommitWatch(std::shared_ptr<StorageMedium> inner, std::function<void()> on_commit)
      : inner_(std::move(inner)), on_commit_(std::move(on_commit)) {}
  MediumRead Read(MediumFile file, Bytes& out) override { return inner_->Read(file, out); }
  bool Append(MediumFile file, ByteView data) override { return inner_->Append(file, data); }
  bool Replace(MediumFile file, ByteView data) override { return inner_->Replace(file, data); }
  bool Truncate(MediumFile file) override { return inner_->Truncate(file); }
  void RecordAcknowledged(uint64_t seq) override {
    inner_->RecordAcknowledged(seq);
    if (on_commit_) on_commit_();
  }
  uint64_t acknowledged() const override { return inner_->acknowledged(); }

 private:
  std::shared_ptr<StorageMedium> inner_;
  std::function<void()> on_commit_;
};

// Records a command may make durable before its own transaction commits, by design: what must
// count even if the command is then refused or power is lost (runtime/persistent_store.h
// PutDurable) — PIN and PUK try counters, a key's use counter and session state (SCP03 sequence
// counter, failed authentications), the bootstrap verification's failure count and replay
// window (dm/bootstrap.h), and event-log entries of refusals (runtime/event_log.h).
bool DurableByDesign(const std::string& key) {
  auto starts = [&key](std::string_view p) { return key.rfind(p, 0) == 0; };
  auto ends = [&key](std::string_view e) {
    return key.size() >= e.size() && key.compare(key.size() - e.size(), e.size(), e) == 0;
  };
  return starts("card/pin/") || starts("card/puk/") || starts("card/log/") ||
         (starts("card/key/") && (ends("/state") || ends("/uses"))) || key == "dm/bootstrap";
}

// The states a command may leave behind: before it, after each transaction it made durable (the
// last one is the state after it).
struct Outcomes {
  Snapshot before;
  std::vector<Snapshot> commits;
};

// Runs `c` on a card that is never cut; `writes` gets the physical writes of each APDU,
// `outcomes` the states around each APDU that writes. Checks the model itself: a command's
// transactions before its last touch only records that are durable by design.
bool Reference(const Campaign& c, std::vector<uint64_t>& writes,
               std::map<size_t, Outcomes>& outcomes, std::vector<std::string>& violations) {
  auto ram = std::make_shared<RamMedium>();
  std::vector<Snapshot> commits;
  auto watch = std::make_shared<CommitWatch>(
      ram, [&] { commits.push_back(StateOn(c.profile, std::make_shared<RamMedium>(*ram))); });
  auto faulty = std::make_shared<FaultInjectingMedium>(watch);
  std::string error;
  auto card = CardOn(c.profile, faulty, error);
  EXPECT_TRUE(card) << error;
  if (!card) return false;
  TearReader reader(*card, *faulty);
  // The state before an APDU is the state after the last one that wrote (or the new card's).
  Snapshot last = StateOn(c.profile, std::make_shared<RamMedium>(*ram));
  commits.clear();
  reader.after_apdu = [&](size_t apdu, uint64_t n) {
    writes.push_back(n);
    if (n == 0) {
      commits.clear();
      return;
    }
    Outcomes& o = outcomes[apdu];
    o.before = last;
    o.commits = std::move(commits);
    commits.clear();
    last = StateOn(c.profile, std::make_shared<RamMedium>(*ram));
    if (o.commits.empty() || o.commits.back() != last) o.commits.push_back(last);
    for (size_t j = 0; j + 1 < o.commits.size(); ++j) {
      for (const std::string& key : ChangedRecords(o.before, o.commits[j])) {
        if (!DurableByDesign(key)) {
          violations.push_back(c.name + ": APDU " + std::to_string(apdu) + " makes " + key +
                               " durable before its last transaction, and " + key +
                               " is not a record that must count even if the command fails");
        }
      }
    }
  };
  const bool ok = c.scenario(reader, error);
  EXPECT_TRUE(ok) << c.name << ": the scenario fails on a card that is never cut: " << error;
  return ok;
}

// The state after power is cut during APDU `apdu` after `cut` of its writes and comes back.
std::optional<Snapshot> CutRun(const Campaign& c, size_t apdu, uint64_t cut,
                               FaultInjectingMedium::Tear tear, const Damage& damage) {
  auto ram = std::make_shared<RamMedium>();
  auto faulty = std::make_shared<FaultInjectingMedium>(ram);
  {
    std::string error;
    auto card = CardOn(c.profile, faulty, error);
    EXPECT_TRUE(card) << error;
    if (!card) return std::nullopt;
    TearReader reader(*card, *faulty);
    reader.CutDuring(apdu, cut, tear);
    c.scenario(reader, error);  // fails from the cut on, by design
    if (!reader.gone()) return std::nullopt;
  }
  if (damage) damage(*ram);
  return StateOn(c.profile, ram);
}

Figures RunCampaign(const Campaign& c, const Damage& damage = nullptr) {
  Figures f;
  std::vector<uint64_t> writes;
  std::map<size_t, Outcomes> outcomes;
  if (!Reference(c, writes, outcomes, f.violations)) return f;
  f.apdus = writes.size();
  for (size_t apdu = 0; apdu < writes.size(); ++apdu) {
    if (writes[apdu] == 0) continue;
    ++f.writing_apdus;
    ++f.writes[writes[apdu]];
    const Outcomes& o = outcomes[apdu];
    for (uint64_t cut = 0; cut < writes[apdu]; ++cut) {
      ++f.cut_points;
      using Tear = FaultInjectingMedium::Tear;
      for (Tear tear : {Tear::kNone, Tear::kFirstHalf, Tear::kHoles}) {
        const std::optional<Snapshot> now = CutRun(c, apdu, cut, tear, damage);
        const std::string at = c.name + ": APDU " + std::to_string(apdu) + " (of " +
                               std::to_string(writes.size()) + "), power cut after " +
                               std::to_string(cut) + " of its " + std::to_string(writes[apdu]) +
                               " writes" +
                               (tear == Tear::kFirstHalf ? ", torn (first half written)"
                                : tear == Tear::kHoles   ? ", torn (middle third unwritten)"
                                                         : "");
        if (!now) {
          f.violations.push_back(at + ": the cut did not happen (the run is not deterministic)");
        } else if (*now == o.commits.back()) {
          ++f.done;
        } else if (*now == o.before) {
          ++f.not_done;
        } else if (std::find(o.commits.begin(), o.commits.end(), *now) != o.commits.end()) {
          ++f.counted;
        } else {
          f.violations.push_back(at +
                                 ": the card shows neither the state before the command, nor "
                                 "after it, nor after one of its durable transactions; records "
                                 "differing from before:" +
                                 Differences(o.before, *now) +
                                 "; from after:" + Differences(o.commits.back(), *now));
        }
      }
    }
  }
  return f;
}

Profile LoadOrFail(const fs::path& file) {
  std::string error;
  std::optional<Profile> p = LoadProfile(file, error);
  EXPECT_TRUE(p) << error;
  return p.value_or(Profile{});
}

std::vector<fs::path> GoldenTraceFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kSource / "apdu-specs" / "traces")) {
    if (entry.path().extension() == ".trace") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Report(const std::string& name, const Figures& f) {
  for (const std::string& v : f.violations) ADD_FAILURE() << v;
  // Physical writes per writing APDU: a transaction is one append (one fdatasync on a state
  // directory); a checkpoint adds two replaces.
  std::string per_apdu;
  for (const auto& [n, count] : f.writes) {
    per_apdu += (per_apdu.empty() ? "" : ", ") + std::to_string(count) + "x" + std::to_string(n);
  }
  std::printf(
      "[tear] %-34s %4zu APDUs, %3zu writing (writes: %s), %4zu cut points x3 (clean, cut "
      "short, holes): %zu done, %zu not done, %zu counted only\n",
      name.c_str(), f.apdus, f.writing_apdus, per_apdu.c_str(), f.cut_points, f.done, f.not_done,
      f.counted);
}

class Req_UseCases_TearCampaign : public ::testing::TestWithParam<fs::path> {};

TEST_P(Req_UseCases_TearCampaign, PowerCutAtEveryWriteLeavesTheCommandDoneOrNotDone) {
  const Campaign c{GetParam().filename().string(), DemoProfile(), TraceScenario(GetParam())};
  const Figures f = RunCampaign(c);
  Report(c.name, f);
  // A cut before a command's last transaction commits finds it not done: a campaign that never
  // sees that is not cutting where it thinks it is.
  if (f.cut_points > 0) {
    EXPECT_GT(f.not_done + f.counted, 0u);
  }
}

std::string FileTestName(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(GoldenTraces, Req_UseCases_TearCampaign,
                         ::testing::ValuesIn(GoldenTraceFiles()), FileTestName);

TEST(Req_SC2_TearCampaign, PowerCutAtEveryWriteOfPersonalizationLeavesEachBlockDoneOrNotDone) {
  const Campaign c{
      "personalization (blank -> demo)",
      LoadOrFail(kSource / "tests" / "data" / "dm" / "profiles" / "blank" / "profile.json"),
      PersonalizationScenario()};
  const Figures f = RunCampaign(c);
  Report(c.name, f);
  EXPECT_GT(f.writing_apdus, 2u);  // the handshake's counter, the blocks, the last block's apply
  EXPECT_GT(f.done, 0u);
  EXPECT_GT(f.not_done, 0u);
}

// The campaign is only as good as its eye. Memory that loses the journal between the cut and the
// power-up (committed transactions since the last checkpoint gone) must be caught at every cut
// point where it matters; the personalization's last blocks come after committed ones.
TEST(Req_SC2_TearCampaign, ItsOracleCatchesACardThatLostCommittedWrites) {
  const Campaign c{
      "personalization, journal lost at power-up",
      LoadOrFail(kSource / "tests" / "data" / "dm" / "profiles" / "blank" / "profile.json"),
      PersonalizationScenario()};
  const Figures f = RunCampaign(c, [](RamMedium& ram) { ram.Remove(MediumFile::kJournal); });
  EXPECT_GT(f.cut_points, 0u);
  EXPECT_FALSE(f.violations.empty());
}

}  // namespace
}  // namespace dmcard
