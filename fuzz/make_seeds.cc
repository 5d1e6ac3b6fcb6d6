// Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the project's own data: the
// golden traces and the command reference's examples as APDU sequences and vpcd streams, real
// TNDS and WBXML documents, the profiles, trace files, the demo card's answers to the handset's
// provisioning flow, store files. Built in every build but the fuzz one:
//   build/fuzz/dmcard-fuzz-seeds . fuzz/corpus
// (run from the source tree; docs/fuzzing.md). Deterministic: the same files every time.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dm/tnds.h"
#include "host/apdu_spec.h"
#include "host/demo_card.h"
#include "host/device_provision.h"
#include "host/direct_reader.h"
#include "host/operator.h"
#include "host/profile_file.h"
#include "host/trace_formats.h"
#include "runtime/persistent_store.h"

namespace {

using namespace dmcard;
namespace fs = std::filesystem;

fs::path src, out;
int written = 0;

std::string Read(const fs::path& p) {
  std::ifstream in(src / p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", (src / p).c_str());
    std::exit(1);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

void Seed(const std::string& target, const std::string& name, ByteView bytes) {
  fs::create_directories(out / target);
  std::ofstream f(out / target / name, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ++written;
}

Bytes Cat(std::initializer_list<ByteView> parts) {
  Bytes b;
  for (ByteView p : parts) Append(b, p);
  return b;
}

void PutPiece(Bytes& b, ByteView piece, bool wide) {
  if (wide)
    AppendU16(b, static_cast<uint16_t>(piece.size()));
  else
    b.push_back(static_cast<uint8_t>(piece.size()));
  Append(b, piece);
}

// ---- APDU sequences (fuzz/apdu_fuzzer.cc's operations) ----

void OpApdu(Bytes& seq, ByteView apdu, uint8_t kind = 0) {
  const bool wide = apdu.size() > 255;
  seq.push_back(static_cast<uint8_t>(kind | 0x40 | (wide ? 0x80 : 0)));  // follow 61xx
  PutPiece(seq, apdu, wide);
}

// A trace's commands and power events as operations; false when it has none.
bool TraceOps(const Trace& t, Bytes& seq, std::vector<Bytes>* frames) {
  std::map<std::string, Bytes> values;
  for (const Step& s : t.steps) {
    if (s.kind == StepKind::kSet) values[s.text] = s.bytes;
    if (s.kind == StepKind::kReset) {
      seq.push_back(12);
      if (frames) frames->push_back({0x02});
    }
    if (s.kind == StepKind::kPowerOff || s.kind == StepKind::kRemove) {
      seq.push_back(13);
      if (frames) frames->push_back({0x00});
    }
    if (s.kind == StepKind::kPowerOn || s.kind == StepKind::kInsert) {
      if (frames) frames->push_back({0x01});
    }
    if (s.kind != StepKind::kCommand) continue;
    Bytes c;
    std::string error;
    if (!BuildCommand(s.command, values, c, error)) continue;  // a captured value: left out
    OpApdu(seq, c);
    if (frames) frames->push_back(c);
  }
  return !seq.empty();
}

std::string Stem(const std::string& name) {
  std::string s;
  for (char c : name) s.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  return s;
}

Bytes VpcdStream(const std::vector<Bytes>& frames) {
  Bytes b = {7, 64, 3, 200};  // how the socket cuts the stream
  for (const Bytes& f : {Bytes{0x01}, Bytes{0x04}}) PutPiece(b, f, true);
  for (const Bytes& f : frames) PutPiece(b, f, true);
  return b;
}

void ApduSeeds() {
  std::vector<fs::path> traces;
  for (const auto& e : fs::directory_iterator(src / "apdu-specs/traces"))
    traces.push_back(e.path());
  traces.push_back(src / "tests/data/traces/demo_v2.trace");
  std::sort(traces.begin(), traces.end());
  for (const fs::path& p : traces) {
    Trace t;
    std::string error;
    if (!ReadTraceFile(p, TraceFormat::kAuto, t, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      std::exit(1);
    }
    Bytes seq;
    std::vector<Bytes> frames;
    if (TraceOps(t, seq, &frames)) {
      Seed("apdu", "trace-" + p.stem().string(), seq);
      Seed("vpcd", "trace-" + p.stem().string(), VpcdStream(frames));
    }
  }
  std::vector<Trace> examples;
  std::string error;
  if (!ApduExampleTraces(BuiltInApduSpecs(), examples, error)) std::exit(1);
  for (const Trace& t : examples) {
    Bytes seq;
    if (TraceOps(t, seq, nullptr)) Seed("apdu", "example-" + Stem(t.name), seq);
  }

  const Bytes select_dm = *FromHex("00A4040C0AF0444D434152442D444D");
  const Bytes get_lang =
      *FromHex("80300000 1F 2E2F56656E646F722F646D636172642F5573657250726566732F4C616E67 00");
  const Bytes replace_lang = *FromHex(
      "80340000 25 801F2E2F56656E646F722F646D636172642F5573657250726566732F4C616E67 81026672");
  const Bytes get_acc = *FromHex("80300000 07 2E2F444D416363 00");
  const Bytes export_root = *FromHex("803A0000 01 2E 00");
  // SCP03 with the DM server's set on the DM applet at each level, then tree commands wrapped.
  for (uint8_t level = 0; level < 5; ++level) {
    Bytes seq = {8, 0, 14, level};
    for (const Bytes& c : {get_acc, get_lang, replace_lang, export_root}) {
      seq.push_back(15);
      PutPiece(seq, c, false);
    }
    Seed("apdu", "scp03-dm-server-level" + std::to_string(level), seq);
  }
  // The issuer's set on the ISD and on the file system.
  Seed("apdu", "scp03-issuer-isd", Cat({Bytes{8, 2, 0x1E, 4, 15, 5}, *FromHex("80CA00E000")}));
  Seed("apdu", "scp03-issuer-fs",
       Cat({Bytes{8, 1, 0x1E, 3, 15, 7}, *FromHex("00A4080C025031"), Bytes{15, 5},
            *FromHex("00B0000000")}));
  // Power cuts while the user changes a preference, a wrong PIN counts, a log entry is written.
  for (uint8_t n = 0; n < 6; ++n) {
    Bytes seq = {0x40, static_cast<uint8_t>(select_dm.size())};
    Append(seq, select_dm);
    seq.push_back(9);  // VERIFY with the PIN
    seq.push_back(static_cast<uint8_t>(n % 2 ? 0x1A : 0x0A));
    seq.push_back(n);
    OpApdu(seq, replace_lang);
    OpApdu(seq, get_lang);
    seq.push_back(11);  // restart
    OpApdu(seq, select_dm);
    OpApdu(seq, get_lang);
    Seed("apdu", "power-cut-replace-" + std::to_string(n), seq);
    Bytes pin = {0x40, static_cast<uint8_t>(select_dm.size())};
    Append(pin, select_dm);
    pin.push_back(0x0A);
    pin.push_back(n);
    OpApdu(pin, *FromHex("002000010830303030303030FF"));
    OpApdu(pin, *FromHex("0020000100"));
    Seed("apdu", "power-cut-wrong-pin-" + std::to_string(n), pin);
  }
}

// ---- the handset's provisioning flow against the demo card, its answers recorded ----

class RecordingReader final : public Reader {
 public:
  explicit RecordingReader(Reader& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  bool Connect(Bytes& atr, std::string& e) override { return inner_.Connect(atr, e); }
  bool Transmit(ByteView c, Bytes& r, std::string& e) override {
    if (!inner_.Transmit(c, r, e)) return false;
    PutPiece(answers, r, true);
    return true;
  }
  bool Reset(Bytes& atr, std::string& e) override { return inner_.Reset(atr, e); }
  bool PowerOff(std::string& e) override { return inner_.PowerOff(e); }
  bool PowerOn(Bytes& atr, std::string& e) override { return inner_.PowerOn(atr, e); }
  bool Remove(std::string& e) override { return inner_.Remove(e); }
  bool Insert(Bytes& atr, std::string& e) override { return inner_.Insert(atr, e); }
  Bytes answers;

 private:
  Reader& inner_;
};

class Yes final : public UserPrompt {
 public:
  std::optional<bool> Confirm(const std::string&, std::string&) override { return true; }
  std::optional<std::string> AskDigits(const std::string&, std::string&) override {
    return std::string("1234");
  }
};

void ProvisionSeed(const std::string& name, const Profile& profile, ByteView tree,
                   ByteView package) {
  std::string error;
  auto reader =
      DirectReader::Open(std::make_shared<Profile>(profile), CardConfigFor(profile), "", error);
  if (!reader) std::exit(1);
  RecordingReader rec(*reader);
  const fs::path dir = fs::temp_directory_path() / "dmcard-fuzz-seeds";
  fs::create_directories(dir);
  ProvisionOptions options;
  options.tree_file = dir / "tree.xml";
  fs::remove(options.tree_file);
  if (!tree.empty())
    std::ofstream(options.tree_file)
        .write(reinterpret_cast<const char*>(tree.data()),
               static_cast<std::streamsize>(tree.size()));
  if (!package.empty()) {
    options.package = dir / "package.hex";
    std::ofstream(options.package)
        .write(reinterpret_cast<const char*>(package.data()),
               static_cast<std::streamsize>(package.size()));
  }
  Yes yes;
  ProvisionReport report;
  ProvisionDevice(rec, options, yes, report, error);
  Bytes seed = {static_cast<uint8_t>((tree.empty() ? 0 : 1) | (package.empty() ? 0 : 2) | 4 | 8)};
  PutPiece(seed, tree, true);
  PutPiece(seed, package, true);
  Append(seed, rec.answers);
  Seed("device_provision", name, seed);
  fs::remove_all(dir);
}

Bytes OperatorPackage(std::string& hex_text) {
  std::string error;
  const std::string tnds = Read("docs/examples/operator-account.xml");
  const auto message = BuildBootstrapMessage(B(tnds), BootstrapHeader{}, error);
  BootstrapSecrets secrets;
  secrets.imsi = DemoProfile().imsi;
  const auto proof = ProveBootstrap(*message, dm::BootstrapMethod::kNetwPin, secrets, error);
  if (!proof) std::exit(1);
  hex_text = "# NETWPIN package\n" + ToHex(proof->command_data) + "\n";
  return proof->command_data;
}

void ProvisionSeeds() {
  const Profile demo = DemoProfile();
  ProvisionSeed("demo-wbxml-new-device", demo, {}, {});
  ProvisionSeed("demo-used-device", demo,
                B("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>DMAcc"
                  "</NodeName><Node><NodeName>Old</NodeName><Node><NodeName>ServerID</NodeName>"
                  "<Value>old.example</Value></Node></Node></Node><Node><NodeName>Vendor</NodeName>"
                  "</Node></MgmtTree>\n"),
                {});
  Profile tnds = demo;
  tnds.bootstrap_ef_format = dm::BootstrapEfFormat::kTndsXml;
  tnds.quirks.dodf_padded_with_ff = true;
  tnds.quirks.dodf_path_without_length = true;
  ProvisionSeed("tnds-xml-quirks", tnds, {}, {});
  std::string hex;
  const Bytes binary = OperatorPackage(hex);
  ProvisionSeed("package-netwpin", demo, {}, B(hex));
  Seed("bootstrap_package", "netwpin.hex", B(hex));
  Seed("bootstrap_package", "netwpin.bin", binary);
}

// ---- the persistent store's files ----

void StoreSeeds() {
  auto ram = std::make_shared<RamMedium>();
  {
    PersistentStore s(ram, {.capacity = 8 * 1024, .checkpoint_journal_bytes = 512});
    for (int i = 0; i < 4; ++i) {
      s.Begin();
      s.Put("k" + std::to_string(i), B("value " + std::to_string(i)));
      if (i == 2) s.Erase("k0");
      if (i == 3) s.Patch("k1", 0, B("V"));
      s.Commit();
    }
  }
  auto put = [](const std::string& name, uint8_t flags, uint8_t ack, ByteView image,
                ByteView journal, ByteView tx) {
    Bytes b = {flags, ack};
    PutPiece(b, image, true);
    PutPiece(b, journal, true);
    Append(b, tx);
    Seed("store_open", name, b);
  };
  const Bytes tx = {2, 0x10, 3, 'n', 'e', 'w', 0xA0, 0x00};
  put("four-transactions", 3, 4, ram->content(MediumFile::kImage),
      ram->content(MediumFile::kJournal), tx);
  put("four-transactions-torn", 7, 4, ram->content(MediumFile::kImage),
      ram->content(MediumFile::kJournal), tx);
  put("brand-new", 0, 0, {}, {}, tx);
  for (const char* golden : {"store-v1", "store-v2", "card-v1"}) {
    const std::string image = Read(fs::path("tests/golden") / golden / "card.img");
    const std::string journal = Read(fs::path("tests/golden") / golden / "card.jnl");
    put(std::string("golden-") + golden, 3, 0, B(image), B(journal), tx);
  }
}

// ---- documents ----

void DocumentSeeds() {
  const std::string demo_tree = Read("profiles/demo/tree.xml");
  const std::string account = Read("docs/examples/operator-account.xml");
  const std::vector<std::pair<std::string, std::string>> trees = {
      {"demo-tree.xml", demo_tree},
      {"operator-account.xml", account},
      {"hotspot20-pps-mo.xml", Read("tests/data/dm/hotspot20-pps-mo.xml")},
      {"blank-tree.xml", Read("tests/data/dm/profiles/blank/tree.xml")},
      {"restrictive-tree.xml", Read("tests/data/dm/profiles/restrictive/tree.xml")}};
  std::string error;
  for (const auto& [name, xml] : trees) {
    Seed("tnds_xml", name, B(xml));
    if (const auto wbxml = dm::TndsXmlToWbxml(xml, error)) {
      Seed("wbxml", "tnds-" + name + ".wbxml", Cat({Bytes{0x00}, *wbxml}));
    }
    if (const auto message = BuildBootstrapMessage(B(xml), BootstrapHeader{}, error)) {
      Seed("wbxml", "syncml-" + name + ".wbxml", Cat({Bytes{0x01}, *message}));
      Seed("bootstrap_message", "message-" + name + ".wbxml", Cat({Bytes{0x00}, *message}));
    }
    Seed("bootstrap_message", "tnds-" + name, Cat({Bytes{0x01}, B(xml)}));
  }

  // Profiles: the JSON, a NUL, the tree file.
  for (const char* p :
       {"profiles/demo", "tests/data/dm/profiles/blank", "tests/data/dm/profiles/restrictive"}) {
    const fs::path dir = p;
    Seed("profile_json", dir.filename().string() + ".json",
         Cat({B(Read(dir / "profile.json")), Bytes{0x00}, B(Read(dir / "tree.xml"))}));
  }
  // The UICC view (its tree is the demo's); OMA ProvSC documents (after the tree, in the order
  // the profile names them).
  for (const char* p : {"profiles/uicc-t0", "profiles/uicc-t1"}) {
    const fs::path dir = p;
    Seed("profile_json", dir.filename().string() + ".json",
         Cat({B(Read(dir / "profile.json")), Bytes{0x00}, B(Read("profiles/demo/tree.xml"))}));
  }
  {
    const fs::path dir = "tests/data/dm/profiles/provsc";
    Seed("profile_json", "provsc.json",
         Cat({B(Read(dir / "profile.json")), Bytes{0x00}, B(Read(dir / "tree.xml")), Bytes{0x00},
              B(Read(dir / "bootstrap.xml")), Bytes{0x00}, B(Read(dir / "config1.xml"))}));
  }
  Seed("profile_json", "every-field.json",
       Cat({B(R"({"profile": "every-field", "description": "d", "capacity": 32768,
 "protocol": "T=0", "atr": "3B8F8001804F0CA000000306030001000000006A",
 "bootstrap": {"user_confirmation": false, "autoconnect": true, "failure_limit": 3,
               "ef_format": "tnds-xml"},
 "user_pin": "0000", "user_puk": "11111111", "imsi": "001010000000001",
 "root_acl": "Add=*&Get=*", "reserve": 1024,
 "key_sets": [{"name": "issuer", "kvn": "30", "owner": "@issuer",
   "enc": "000102030405060708090A0B0C0D0E0F", "mac": "000102030405060708090A0B0C0D0E0F",
   "dek": "000102030405060708090A0B0C0D0E0F"}],
 "bootstrap_keys": [{"name": "op", "kvn": "10", "type": "hmac-sha256",
   "secret": "000102030405060708090A0B0C0D0E0F"},
  {"name": "op-ec", "kvn": "11", "type": "ecdsa-p256", "owner": "dmcard.example.test",
   "public": "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"}],
 "quirks": {"dodf_path_without_length": true, "dodf_padded_with_ff": true},
 "tree": "tree.xml"})"),
            Bytes{0x00}, B(demo_tree)}));

  // Trace files: the first byte picks the reader (0 native, 1 scriptor, 2 apdutool, 3 detect).
  for (const auto& e : fs::directory_iterator(src / "apdu-specs/traces")) {
    Seed("trace", "native-" + e.path().stem().string(),
         Cat({Bytes{0x00}, B(Read(fs::relative(e.path(), src)))}));
  }
  for (const char* t : {"demo_v1.trace", "demo_v2.trace", "demo_v1_withheld.trace"}) {
    Seed("trace", std::string("native-") + t,
         Cat({Bytes{0x00}, B(Read(fs::path("tests/data/traces") / t))}));
  }
  Seed("trace", "native-include",
       B(std::string("\x00@include self.trace\n@set x 0102\n> 00 A4 04 00 ${x}\n< 90 00|6A ??\n",
                     60)));
  Seed("trace", "scriptor-demo",
       Cat({Bytes{0x01}, B(Read("tests/data/traces/scriptor_demo.txt"))}));
  Seed("trace", "apdutool-demo",
       Cat({Bytes{0x02}, B(Read("tests/data/traces/apdutool_demo.scr")), Bytes{0x00},
            B(Read("tests/data/traces/apdutool_demo.scr.expected.out"))}));
  Seed("trace", "detect-scr",
       Cat({Bytes{0x07}, B(Read("tests/data/traces/apdutool_demo.scr")), Bytes{0x00},
            B(Read("tests/data/traces/apdutool_demo.scr.expected.out"))}));
  Seed("trace", "detect-txt", Cat({Bytes{0x0B}, B(Read("tests/data/traces/scriptor_demo.txt"))}));

  // The control socket's lines.
  for (const char* line : {"status\n", "status 1\n", "remove 0\n", "remove 2\n", "insert 1\n",
                           "reset 2\n", "status 7\n", "eject\n", "remove\n"}) {
    Seed("control", Stem(line), B(line));
  }

  // SCP03 sessions: configuration byte, host challenge, then operations: op % 3 == 0 raw bytes
  // (length, bytes), 1 a command the host wraps (length, command, length, the answer), 2 the
  // same with a bit flipped (length, command, two bytes: where).
  Seed("scp03_unwrap", "s8-level33-wrap-answer-flip",
       Cat({Bytes{0x20}, Bytes(8, 0x11), Bytes{0x01, 0x05}, *FromHex("80CA00E000"),
            Bytes{0x04, 'd', 'a', 't', 'a'}, Bytes{0x04, 0x09}, *FromHex("00A4040C04A0000001"),
            Bytes{0x00}, Bytes{0x02, 0x05}, *FromHex("80CA00E000"), Bytes{0x00, 0x03}}));
  Seed("scp03_unwrap", "s16-aes256-level13-then-raw",
       Cat({Bytes{0x1B}, Bytes(16, 0x22), Bytes{0x01, 0x07}, *FromHex("80E2000002AABB"),
            Bytes{0x00}, Bytes{0x00, 0x0D}, *FromHex("84E2000008 0102030405060708")}));
  Seed("scp03_unwrap", "s8-level01-raw-extended",
       Cat({Bytes{0x02}, Bytes(8, 0x33), Bytes{0x81, 0x01, 0x00}, Bytes(256, 0x5A)}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: dmcard-fuzz-seeds SOURCE_DIR CORPUS_DIR\n");
    return 2;
  }
  src = argv[1];
  out = argv[2];
  ApduSeeds();
  ProvisionSeeds();
  StoreSeeds();
  DocumentSeeds();
  std::printf("%d seeds written under %s\n", written, out.c_str());
  return 0;
}
