// OMA Client Provisioning documents on the card (OMA ProvSC, the Provisioning Smart Card
// convention the DM bootstrap reuses): Bootstrap, Config1 and Config2 files, each a
// wap-provisioningdoc in WBXML, named in the DM DODF by OIDs 2.23.43.5.1 / .2 / .3
// (reference-facts §1; Nokia's WIM server looks them up by exactly these). The profile names the
// XML documents ("provsc", profiles/README.md); the card serves their WBXML encoding, read-only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/bytes.h"

namespace dmcard::dm {

enum class ProvScFile { kBootstrap, kConfig1, kConfig2 };

// The OID of the file's data object (2.23.43.5.1, .2, .3), its DODF label, and its FID in the
// PKCS#15 application (4403, 4404, 4405: after EF(DM_Bootstrap) 4402).
const char* ProvScOid(ProvScFile file);
const char* ProvScLabel(ProvScFile file);
uint16_t ProvScFid(ProvScFile file);

// The document checked and encoded: well-formed XML whose root is wap-provisioningdoc, without
// any secret parm (NAPAUTHINFO AUTHSECRET, PXAUTHINFO PXAUTH-PW, APPAUTH AAUTHSECRET and
// AAUTHDATA: the card never serves secret values), as WBXML by libwbxml2 (WAP Provisioning 1.0
// code pages, public ID "-//WAPFORUM//DTD PROV 1.0//EN"). nullopt with `error` (naming the parm
// and its characteristics, never the secret's value) otherwise.
std::optional<Bytes> ProvScWbxml(std::string_view xml, std::string& error);

}  // namespace dmcard::dm
