// Card profiles: what a card holds when it is made — its optional transport settings
// (capacity, protocol, ATR), the DM bootstrap flags, the user PIN/PUK, the IMSI, the initial
// management tree and the SCP03 key sets. The card side sees a profile only as this struct; the
// host reads it from a JSON file (host/profile_file.h, format in profiles/README.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dm/bootstrap_export.h"
#include "dm/lwm2m_bootstrap.h"
#include "dm/provsc.h"
#include "runtime/bytes.h"
#include "runtime/card_config.h"

namespace dmcard {

// A GlobalPlatform SCP03 key set of a profile ("key_sets"), loaded into the card's key store.
struct ProfileKeySet {
  std::string name;     // "name": what the profile calls it, e.g. "issuer"
  uint8_t kvn = 0;      // "kvn": key version number, "30" to "3F"
  std::string owner;    // "owner": "@issuer" or a management authority's OMA DM ServerID
  Bytes enc, mac, dek;  // "enc", "mac", "dek": AES-128/192/256 keys of one length, hex
};

// An operator's bootstrap verification key of a profile ("bootstrap_keys"; docs/bootstrap.md
// methods 10 and 11), loaded into the key store with usage bootstrap verification, key id 01.
struct ProfileBootstrapKey {
  std::string name;   // "name"
  uint8_t kvn = 0;    // "kvn": 01 to 7F, outside the SCP03 range 30 to 3F
  bool ec = false;    // "type": "hmac-sha256" (false) or "ecdsa-p256" (true)
  std::string owner;  // "owner": "@issuer" (default) or a DM ServerID
  Bytes material;     // "secret" (HMAC, 16 to 64 bytes) or "public" (EC, 04 || X || Y)
};

// "quirks": deviations of cards in the field that the card reproduces, so that handset teams
// test their readers' robustness (docs/pkcs15-view.md, "Quirks"); all off by default.
struct ProfileQuirks {
  // "dodf_path_without_length": DODF Paths with `index` but no `length`.
  bool dodf_path_without_length = false;
  // "dodf_padded_with_ff": EF.DODF a fixed-size file padded with FF bytes.
  bool dodf_padded_with_ff = false;
  // "lwm2m_oid_double_encoded": the LwM2M bootstrap's OID double-encoded in its DODF.
  bool lwm2m_oid_double_encoded = false;
  // "imsi_even_length_left_padded": an IMSI with an even number of digits held as pySim wrote
  // it before 2018 (dm/imsi.h EfImsiFromDigitsLeftPadded), in the card's one copy.
  bool imsi_even_length_left_padded = false;
};

// "uicc": the UICC view (dm/uicc_view.h, docs/uicc-view.md): EF_ICCID, ADF.USIM with EF_IMSI,
// TS 102 221 FCPs.
struct ProfileUicc {
  std::string iccid;  // "iccid": 19 or 20 digits, Luhn-checked; absent = DefaultIccid(imsi)
};

struct Profile {
  std::string name;         // "profile"
  std::string description;  // "description" (optional)
  // Card configuration; absent = CardConfig's default.
  std::optional<uint32_t> capacity;  // "capacity": persistent memory bytes
  std::optional<Protocol> protocol;  // "protocol": "T=0" | "T=1"
  std::optional<Bytes> atr;          // "atr": hex bytes, checked to be a well-formed ATR
  // "bootstrap": DM bootstrap flags (USA1 user confirmation, USA3 autonomous connection).
  bool user_confirmation = false;
  bool autoconnect = false;
  // "bootstrap": {"failure_limit"}: VERIFY BOOTSTRAP failures in a row that lock it out (1-255);
  // absent = the applet's default (dm/bootstrap.h).
  std::optional<uint8_t> bootstrap_failure_limit;
  // "bootstrap": {"ef_format": "wbxml" | "tnds-xml"}: what EF(DM_Bootstrap) of the PKCS#15 view
  // holds, the OMA DM bootstrap message (default) or one TNDS XML document (dm/pkcs15_view.h).
  dm::BootstrapEfFormat bootstrap_ef_format = dm::BootstrapEfFormat::kWbxml;
  // "user_pin": 4 to 8 digits, "user_puk": 8 digits (dm/pin_policy.h); empty = none.
  std::string user_pin, user_puk;
  // "imsi": 6 to 15 digits, held in EF_IMSI form (dm/imsi.h); empty = none.
  std::string imsi;
  // "root_acl": ACL of the management tree's root (OMA DM ACL syntax); empty = OMA's default
  // "Add=*&Get=*" (dm/mo_tree.h), which lets anyone, the device included, add top-level nodes.
  std::string root_acl;
  // "reserve": bytes of persistent memory only the issuer and DM servers may fill; absent =
  // the DM applet's default (dm/dm_applet.h), at most 1/16 of the capacity.
  std::optional<uint32_t> reserve;
  // Content of the "tree" file: the initial management tree, TNDS XML (checked to parse).
  std::string tree_xml;
  // "key_sets": SCP03 key sets for the Issuer Security Domain and the applets serving the SCP03
  // handshake; loaded when the card is made, a key set the card already holds is kept.
  std::vector<ProfileKeySet> key_sets;
  // "bootstrap_keys": the operator's keys that VERIFY BOOTSTRAP methods 10 and 11 use; loaded
  // when the card is made, a key the card already holds is kept.
  std::vector<ProfileBootstrapKey> bootstrap_keys;
  // "quirks": field-card deviations, off by default.
  ProfileQuirks quirks;
  // "lwm2m": the objects of EF(LwM2M_Bootstrap) (OMA LwM2M 1.1 Appendix G, dm/lwm2m_bootstrap.h);
  // absent = the card has no LwM2M bootstrap. Never holds a secret resource (the host refuses it).
  std::optional<dm::Lwm2mBootstrap> lwm2m;
  // "provsc": OMA Client Provisioning documents (XML, from the files the profile names) the
  // card serves as ProvSC Bootstrap / Config1 / Config2 (dm/provsc.h); checked to hold no secret.
  struct ProvScDocument {
    dm::ProvScFile file = dm::ProvScFile::kBootstrap;
    std::string xml;
  };
  std::vector<ProvScDocument> provsc;
  // "uicc": true or {"iccid": ...}; absent or false = no UICC view.
  std::optional<ProfileUicc> uicc;
};

}  // namespace dmcard
