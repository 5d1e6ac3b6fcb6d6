#include "fs/demo_fs.h"

#include <string_view>

#include "fs/fcp.h"

namespace dmcard::fs {

namespace {

Bytes Ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes EfDirRecord() {
  const Bytes name = demo::DfName();
  const Bytes label = Ascii("DMCARD DEMO");
  Bytes inner;
  AppendTlv(inner, 0x4F, name);
  AppendTlv(inner, 0x50, label);
  Bytes record;
  AppendTlv(record, 0x61, inner);
  return record;
}

}  // namespace

namespace demo {

Bytes Aid() { return {0xF0, 'D', 'M', 'C', 'A', 'R', 'D', 'F', 'S'}; }
Bytes DfName() { return {0xF0, 'D', 'M', 'C', 'A', 'R', 'D', 'D', 'E', 'M', 'O'}; }

}  // namespace demo

FileSpec DemoFileSystem() {
  using AC = AccessCondition;
  using namespace demo;

  Bytes data(kEfDataSize);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  std::vector<Bytes> records;
  for (uint8_t n = 1; n <= kEfRecordsRecords; ++n) records.emplace_back(kEfRecordsRecordSize, n);
  Bytes gdo = {0x5A, 0x08};
  Append(gdo, Ascii("DM000001"));

  return FileSpec::Mf({
      FileSpec::LinearFixed(kEfDir, kEfDirRecordSize, kEfDirRecords, {EfDirRecord()})
          .WithSfi(kEfDirSfi)
          .WithAccess(AC::Always(), AC::Principal(kIssuerPrincipal)),
      FileSpec::Transparent(kEfGdo, 16, gdo)
          .WithSfi(kEfGdoSfi)
          .WithAccess(AC::Always(), AC::Never()),
      FileSpec::Df(
          kDfDemo, DfName(),
          {
              FileSpec::Transparent(kEfData, kEfDataSize, data)
                  .WithSfi(kEfDataSfi)
                  .WithAccess(AC::Always(), AC::Always()),
              FileSpec::Transparent(kEfProtected, kEfProtectedSize)
                  .WithSfi(kEfProtectedSfi)
                  .WithAccess(AC::Always(), AC::Pin(kPinReference)),
              FileSpec::Transparent(kEfSecret, kEfSecretSize)
                  .WithAccess(AC::Never(), AC::Pin(kPinReference)),
              FileSpec::LinearFixed(kEfRecords, kEfRecordsRecordSize, kEfRecordsRecords, records)
                  .WithSfi(kEfRecordsSfi)
                  .WithAccess(AC::Always(), AC::Always()),
          }),
  });
}

std::vector<PinSpec> DemoPins() {
  PinSpec pin;
  pin.reference = demo::kPinReference;
  pin.initial_value = Ascii(demo::kPinValue);
  pin.policy = PinPolicy{3, 4, 8};
  pin.puk_value = Ascii(demo::kPukValue);
  pin.puk_policy = PinPolicy{5, 8, 8};
  return {pin};
}

std::unique_ptr<FileSystemApplet> MakeDemoFileSystemApplet() {
  return std::make_unique<FileSystemApplet>(demo::Aid(), DemoFileSystem(), DemoPins());
}

}  // namespace dmcard::fs
