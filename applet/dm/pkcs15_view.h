// A PKCS#15 view of the DM tree, so that a device (or any PKCS#15 reader such as OpenSC) finds
// the card's DM bootstrap the way OMA smart-card provisioning does it (OMA-TS-DM_Bootstrap 1.2
// "Smartcard", OMA-WAP-TS-ProvSC): a PKCS#15 application listed in EF.DIR, whose DODF holds a
// data object with application OID 2.23.43.7.1 and label "DM Bootstrap" pointing at
// EF(DM_Bootstrap), which holds the current bootstrap as an OMA DM bootstrap message (SyncML DM
// 1.2 WBXML with embedded WBXML TNDS, dm/bootstrap_export.h) or, as a profile option, TNDS XML.
//
//   3F00 MF
//   ├── 2F00 EF.DIR            record: Pkcs15DirRecord() (the card builder merges it)
//   └── 5015 DF.PKCS15         DF name A0 00 00 00 63 50 4B 43 53 2D 31 35
//       ├── 5031 EF.ODF        dataObjects → 4401
//       ├── 5032 EF.TokenInfo  version, serial, manufacturer, label, tokenflags readonly
//       ├── 4401 EF.DODF       "DM Bootstrap", OID 2.23.43.7.1 → 4402, twice: opaqueDO (what
//       │                      OpenSC reads), then oidDO (what handsets read)
//       ├── 4402 EF(DM_Bootstrap)  bootstrap message of ./DMAcc and the connectivity subtrees
//       ├── 4403-4405 ProvSC Bootstrap/Config1/Config2 (profile "provsc"; in the DM DODF)
//       ├── 6430 EF.DODF-bootstrap "LwM2M Bootstrap", OID 2.23.43.9.1 → 6431 (profile "lwm2m";
//       │                      the ODF's second dataObjects entry)
//       └── 6431 EF(LwM2M_Bootstrap)  OMA LwM2M 1.1 Appendix G.3.3 (dm/lwm2m_bootstrap.h)
//
// Paths in ODF and DODF are FIDs relative to the PKCS#15 application, as on UICCs: a UICC
// client selects them as 7FFF || FID from the MF (ETSI TS 102 221 §8.4.2), a PKCS#15 reader
// under the application DF it selected.
//
// Every EF is generated on each read (read: always, update: never): nothing is stored twice,
// and EF(DM_Bootstrap) is never stale. Secret values (AAuthSecret, AAuthData, nodes marked
// secret) never appear. EF(DM_Bootstrap) reads the tree as the channel's principal, with the DM
// applet's rule (DmApplet::PrincipalOf: an authenticated management authority, else the user
// once the card's PIN 01 is verified on the channel, else the device), and holds only what that
// principal may Get. Encodings in docs/pkcs15-view.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dm/bootstrap_export.h"
#include "dm/mo_tree.h"
#include "dm/provsc.h"
#include "fs/file_system.h"
#include "runtime/bytes.h"
#include "runtime/persistent_store.h"

namespace dmcard::dm {

namespace pkcs15 {
inline constexpr uint16_t kDfPkcs15 = 0x5015;
inline constexpr uint16_t kEfOdf = 0x5031;
inline constexpr uint16_t kEfTokenInfo = 0x5032;
inline constexpr uint16_t kEfDodf = 0x4401;
inline constexpr uint16_t kEfDmBootstrap = 0x4402;
// The data object that names the bootstrap.
inline constexpr char kBootstrapLabel[] = "DM Bootstrap";
inline constexpr char kBootstrapOid[] = "2.23.43.7.1";
// LwM2M bootstrap from the smart card (OMA LwM2M 1.1 Appendix G), when the profile has one: the
// DODF-bootstrap at Appendix G.3.2's default FID, listed in the ODF after the DM DODF, and
// EF(LwM2M_Bootstrap) (its FID is the issuer's choice, G.3.3: "See DODF").
inline constexpr uint16_t kEfLwm2mDodf = 0x6430;
inline constexpr uint16_t kEfLwm2mBootstrap = 0x6431;
inline constexpr char kLwm2mLabel[] = "LwM2M Bootstrap";
inline constexpr char kLwm2mApplicationName[] = "OMA LwM2M";
inline constexpr char kLwm2mOid[] = "2.23.43.9.1";
// applicationName of the OMA ProvSC data objects (dm/provsc.h).
inline constexpr char kProvScApplicationName[] = "OMA ProvSC";
// Size of EF.DODF with Pkcs15Quirks::dodf_padded_with_ff (more if the entries need it).
inline constexpr size_t kPaddedDodfSize = 256;
}  // namespace pkcs15

// Deviations that cards in the field show (issue 12, item 6), to test a reader's robustness;
// all off by default. Each changes only what it names (docs/pkcs15-view.md, "Quirks").
struct Pkcs15Quirks {
  // DODF Paths carry `index` 0 without `length`, which PKCS#15's Path allows only together.
  bool dodf_path_without_length = false;
  // EF.DODF is a fixed-size file (kPaddedDodfSize bytes) whose unused bytes are FF, as on a
  // UICC whose DODF was sized at personalization (ISO 7816-4 §5.2.2.1 lets FF pad BER-TLV).
  bool dodf_padded_with_ff = false;
  // The LwM2M bootstrap's OID 2.23.43.9.1 double-encoded in its DODF, as cards in the field
  // carry it (OMA issue OMA_LwM2M_for_Developers#532): the OID's content is itself an encoded
  // OID, 06 06 06 04 67 2B 09 01 instead of 06 04 67 2B 09 01, in both entries.
  bool lwm2m_oid_double_encoded = false;
};

struct Pkcs15Options {
  // EF.DIR label (DIRRecord label). Short, so that the record fits 32-byte EF.DIR records.
  std::string dir_label = "OMA DM";
  // TokenInfo fields.
  Bytes serial_number = {'D', 'M', '0', '0', '0', '0', '0', '1'};
  std::string manufacturer_id = "dmcard";
  std::string token_label = "DMCARD OMA DM";
  // CommonDataObjectAttributes.applicationName of the bootstrap data object.
  std::string application_name = "OMA DM";
  // Subtrees exported into EF(DM_Bootstrap) when present (missing ones are skipped).
  std::vector<std::string> bootstrap_roots = {"./DMAcc", "./Con"};
  // Also export the nodes that DMAcc's PrefConRef and ToConRef/<x>/ConRef values name (absolute
  // URIs "./..." of existing nodes, with their ancestors), wherever they are in the tree.
  bool follow_con_refs = true;
  // Field-card deviations, off by default.
  Pkcs15Quirks quirks;
  // What EF(DM_Bootstrap) holds: the OMA DM bootstrap message (SyncML DM 1.2 WBXML with embedded
  // WBXML TNDS, dm/bootstrap_export.h) or one TNDS XML document.
  BootstrapEfFormat bootstrap_format = BootstrapEfFormat::kWbxml;
  // The content of EF(LwM2M_Bootstrap) (dm/lwm2m_bootstrap.h Lwm2mBootstrapFile); nullopt = the
  // card has no LwM2M bootstrap, and neither its DODF nor the ODF's second entry exists.
  std::optional<Bytes> lwm2m_bootstrap;
  // OMA ProvSC files (dm/provsc.h): each an EF (4403 Bootstrap, 4404 Config1, 4405 Config2)
  // holding a Client Provisioning document in WBXML, listed in the DM DODF after the DM
  // bootstrap, in both entry forms, with its OID 2.23.43.5.x. Read always, update never.
  struct ProvScEf {
    ProvScFile file = ProvScFile::kBootstrap;
    Bytes wbxml;
  };
  std::vector<ProvScEf> provsc;
};

// PKCS#15 application identifier (PKCS#15 v1.1 §5.4.1): A0 00 00 00 63 "PKCS-15".
Bytes Pkcs15Aid();

// The EF.DIR record of the PKCS#15 application, unpadded:
//   61 L { 4F 0C <Pkcs15Aid()>, 50 L <dir_label>, 51 04 3F00 5015 }
Bytes Pkcs15DirRecord(const Pkcs15Options& options = {});

// File contents (what each EF of Pkcs15Application() answers), for tests and tools.
// EF.ODF: dataObjects → the DM DODF, then, with a LwM2M bootstrap, dataObjects → its DODF.
Bytes Pkcs15Odf(const Pkcs15Options& options = {});
Bytes Pkcs15TokenInfo(const Pkcs15Options& options = {});
Bytes Pkcs15Dodf(const Pkcs15Options& options = {});
// The LwM2M DODF-bootstrap (6430): "LwM2M Bootstrap", OID 2.23.43.9.1 → 6431, opaqueDO then
// oidDO as in Pkcs15Dodf (with options.quirks). Empty when options.lwm2m_bootstrap is nullopt.
Bytes Pkcs15Lwm2mDodf(const Pkcs15Options& options = {});
// The bootstrap document as `reader` may see it: the subtrees named by the options, without
// secret values, and without any node the DM ACLs do not let `reader` Get (nor its subtree, nor
// a subtree one of whose ancestors `reader` may not Get). docs/pkcs15-view.md, "Who reads".
std::string DmBootstrapTnds(const MoTree& tree, const Principal& reader,
                            const Pkcs15Options& options = {});
// What EF(DM_Bootstrap) holds for `reader`, in options.bootstrap_format: the same nodes as
// DmBootstrapTnds, as the OMA DM bootstrap message (a SyncBody with Final alone when there is
// nothing to bootstrap) or as that TNDS XML document.
Bytes DmBootstrapFile(const MoTree& tree, const Principal& reader,
                      const Pkcs15Options& options = {});

// DF 5015 with ODF, TokenInfo, DODF and EF(DM_Bootstrap), all generated. EF(DM_Bootstrap) reads
// the DM tree under `dm_prefix` (the DM applet's "dm/") at every read, through the file-system
// applet's StoreView: the card must grant that applet read access to `dm_prefix`
// (Card::GrantRead), else the document is empty. `clock` is handed to the MoTree.
fs::FileSpec Pkcs15Application(std::string dm_prefix, std::function<int64_t()> clock,
                               const Pkcs15Options& options = {});

}  // namespace dmcard::dm
