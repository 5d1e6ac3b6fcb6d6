// A small example file system, used by tests, the benchmark and the demo CLI.
//
//   AID of the applet: F0 44 4D 43 41 52 44 46 53  (F0 || "DMCARDFS", proprietary category F)
//
//   3F00 MF
//   ├── 2F00 EF.DIR    linear fixed, 4 records × 32 bytes, SFI 30 (P2 for READ RECORD: F4)
//   │                  read: always, update: the issuer only (kIssuerPrincipal)
//   │                  record 1 = 61 1A 4F 0B <DF name of 5000> 50 0B "DMCARD DEMO", zero padded;
//   │                  records 2-4 all zero
//   ├── 2F02 EF.GDO    transparent, 16 bytes, SFI 2; read: always, update: never
//   │                  = 5A 08 44 4D 30 30 30 30 30 31 (ICC serial "DM000001"), zero padded
//   └── 5000 DF.DEMO   DF name F0 44 4D 43 41 52 44 44 45 4D 4F (F0 || "DMCARDDEMO")
//       ├── 5001 EF.DATA       transparent, 512 bytes, SFI 1; byte i = i & FF;
//       │                      read: always, update: always
//       ├── 5002 EF.PROTECTED  transparent, 32 bytes, SFI 2, all zero;
//       │                      read: always, update: PIN 01
//       ├── 5003 EF.SECRET     transparent, 16 bytes, no SFI, all zero;
//       │                      read: never, update: PIN 01
//       └── 5004 EF.RECORDS    linear fixed, 5 records × 16 bytes, SFI 4;
//                              record n = 16 bytes of value n; read: always, update: always
//
//   PIN 01: "1234" (31 32 33 34), 3 tries, 4..8 bytes (VERIFY 00 20 00 01 04 31323334)
//   PUK of PIN 01: "12345678" (31..38), 5 tries, exactly 8 bytes (RESET RETRY COUNTER P2 = 01)
//   (DemoPins(): the standalone demo applet's. A card built from a profile serves the profile's
//   user PIN instead, the card's one global PIN 01 shared with the DM applet: cards/demo_card.h.)
#pragma once

#include <memory>
#include <vector>

#include "fs/file_system.h"
#include "fs/fs_applet.h"

namespace dmcard::fs::demo {

inline constexpr uint16_t kEfDir = 0x2F00;
inline constexpr uint8_t kEfDirSfi = 30;
inline constexpr uint8_t kEfDirRecordSize = 32;
inline constexpr uint8_t kEfDirRecords = 4;
inline constexpr uint16_t kEfGdo = 0x2F02;
inline constexpr uint8_t kEfGdoSfi = 2;
inline constexpr uint16_t kDfDemo = 0x5000;
inline constexpr uint16_t kEfData = 0x5001;
inline constexpr uint16_t kEfDataSize = 512;
inline constexpr uint8_t kEfDataSfi = 1;
inline constexpr uint16_t kEfProtected = 0x5002;
inline constexpr uint16_t kEfProtectedSize = 32;
inline constexpr uint8_t kEfProtectedSfi = 2;
inline constexpr uint16_t kEfSecret = 0x5003;
inline constexpr uint16_t kEfSecretSize = 16;
inline constexpr uint16_t kEfRecords = 0x5004;
inline constexpr uint8_t kEfRecordsSfi = 4;
inline constexpr uint8_t kEfRecordsRecordSize = 16;
inline constexpr uint8_t kEfRecordsRecords = 5;

inline constexpr uint8_t kPinReference = 0x01;
inline constexpr char kPinValue[] = "1234";
inline constexpr char kPukValue[] = "12345678";

// F0 44 4D 43 41 52 44 46 53
Bytes Aid();
// F0 44 4D 43 41 52 44 44 45 4D 4F
Bytes DfName();

}  // namespace dmcard::fs::demo

namespace dmcard::fs {

// The structure above.
FileSpec DemoFileSystem();
// PIN 01 with its PUK, as above.
std::vector<PinSpec> DemoPins();
// FileSystemApplet(demo::Aid(), DemoFileSystem(), DemoPins()).
std::unique_ptr<FileSystemApplet> MakeDemoFileSystemApplet();

}  // namespace dmcard::fs
