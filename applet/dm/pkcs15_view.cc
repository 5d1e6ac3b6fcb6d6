#include "dm/pkcs15_view.h"

#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "dm/bootstrap_export.h"
#include "dm/dm_applet.h"

namespace dmcard::dm {

namespace {

// --- DER (ITU-T X.690 §10), only what PKCS#15 needs here -------------------------------------

void AppendLength(Bytes& out, size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
    return;
  }
  Bytes digits;
  for (size_t v = n; v != 0; v >>= 8) digits.insert(digits.begin(), static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(0x80 | digits.size()));
  Append(out, digits);
}

// One-byte tag (every tag used here is below 31).
Bytes Der(uint8_t tag, ByteView content) {
  Bytes out{tag};
  AppendLength(out, content.size());
  Append(out, content);
  return out;
}

Bytes Der(uint8_t tag, std::string_view text) {
  return Der(tag, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Concatenation of encodings (the contents of a constructed value).
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) Append(out, p);
  return out;
}

// Universal tags.
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kBitString = 0x03;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kUtf8String = 0x0C;
constexpr uint8_t kSequence = 0x30;

void AppendBase128(Bytes& out, uint64_t v) {
  Bytes digits{static_cast<uint8_t>(v & 0x7F)};
  for (v >>= 7; v != 0; v >>= 7) {
    digits.insert(digits.begin(), static_cast<uint8_t>(0x80 | (v & 0x7F)));
  }
  Append(out, digits);
}

// OBJECT IDENTIFIER contents from dotted text (X.690 §8.19): first two arcs as 40·a + b.
Bytes OidContents(std::string_view dotted) {
  std::vector<uint64_t> arcs;
  uint64_t v = 0;
  for (char c : dotted) {
    if (c == '.') {
      arcs.push_back(v);
      v = 0;
    } else {
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  arcs.push_back(v);
  Bytes out;
  AppendBase128(out, arcs[0] * 40 + (arcs.size() > 1 ? arcs[1] : 0));
  for (size_t i = 2; i < arcs.size(); ++i) AppendBase128(out, arcs[i]);
  return out;
}

Bytes U16Path(std::initializer_list<uint16_t> fids) {
  Bytes out;
  for (uint16_t f : fids) AppendU16(out, f);
  return out;
}

// PKCS#15 Path ::= SEQUENCE { efidOrPath OCTET STRING, index INTEGER OPTIONAL,
//   length [0] INTEGER OPTIONAL } (index and length both present or both absent). The path is
// the file's FID relative to the PKCS#15 application, as UICCs give it (OMA LwM2M 1.1
// Appendix G; the GlobalPlatform access-control DODF of real UICCs): readers select it under
// the application DF, or as 7FFF || FID from the MF (ETSI TS 102 221 §8.4.2).
Bytes Path(uint16_t ef) { return Der(kSequence, Der(kOctetString, U16Path({ef}))); }

// Quirk: `index` 0 without its `length`.
Bytes PathWithoutLength(uint16_t ef) {
  const Bytes index = {0x00};
  return Der(kSequence, Cat({Der(kOctetString, U16Path({ef})), Der(kInteger, index)}));
}

// --- The generated EFs ---------------------------------------------------------------------

class FixedContent final : public fs::EfContentSource {
 public:
  explicit FixedContent(Bytes content) : content_(std::move(content)) {}
  Bytes Content(const SecurityState* /*reader*/, const StoreView& /*store*/) const override {
    return content_;
  }

 private:
  Bytes content_;
};

class BootstrapContent final : public fs::EfContentSource {
 public:
  BootstrapContent(std::string prefix, std::function<int64_t()> clock, Pkcs15Options options)
      : prefix_(std::move(prefix)), clock_(std::move(clock)), options_(std::move(options)) {}

  // What the channel's principal may Get (the DM applet's rule, DmApplet::PrincipalOf).
  // Regenerated whenever the tree's generation counter has moved (every committed change moves
  // it) or another principal reads, so a reader never sees a stale document or someone else's;
  // reading it chunk by chunk costs one export.
  // `store` is the file-system applet's view: it reads the DM tree through the read-only grant
  // the card gave it (Card::GrantRead), never by holding the DM applet's records itself.
  Bytes Content(const SecurityState* reader, const StoreView& store) const override {
    const MoTree tree(StoreView(store).ReadOnly(), prefix_, clock_);
    const uint32_t generation = tree.generation();
    const Principal who = DmApplet::PrincipalOf(reader);
    const std::string who_text = who.ToString();
    if (!cached_ || generation_ != generation || cached_for_ != who_text) {
      content_ = DmBootstrapFile(tree, who, options_);
      generation_ = generation;
      cached_for_ = who_text;
      cached_ = true;
    }
    return content_;
  }

 private:
  mutable bool cached_ = false;
  mutable uint32_t generation_ = 0;
  mutable std::string cached_for_;
  mutable Bytes content_;
  std::string prefix_;
  std::function<int64_t()> clock_;
  Pkcs15Options options_;
};

BootstrapSelection SelectionOf(const Pkcs15Options& options) {
  return {.roots = options.bootstrap_roots, .follow_con_refs = options.follow_con_refs};
}

}  // namespace

Bytes Pkcs15Aid() { return {0xA0, 0x00, 0x00, 0x00, 0x63, 'P', 'K', 'C', 'S', '-', '1', '5'}; }

Bytes Pkcs15DirRecord(const Pkcs15Options& options) {
  // DIRRecord ::= [APPLICATION 1] SEQUENCE { aid [APPLICATION 15] OCTET STRING,
  //   label [APPLICATION 16] UTF8String OPTIONAL, path [APPLICATION 17] OCTET STRING, ... }
  return Der(0x61, Cat({Der(0x4F, Pkcs15Aid()), Der(0x50, options.dir_label),
                        Der(0x51, U16Path({fs::kMfFid, pkcs15::kDfPkcs15}))}));
}

Bytes Pkcs15Odf(const Pkcs15Options& options) {
  // PKCS15Objects ::= CHOICE { ..., dataObjects [7] DataObjects, ... } with
  // DataObjects ::= PathOrObjects {DataType}, itself a CHOICE: the [7] tag is explicit. Several
  // DODFs are several dataObjects entries, "in priority order" (LwM2M 1.1 Appendix G.1): the DM
  // DODF first, as before; Nordic's uicc_lwm2m follows the last dataObjects entry of the ODF.
  Bytes odf = Der(0xA7, Path(pkcs15::kEfDodf));
  if (options.lwm2m_bootstrap) Append(odf, Der(0xA7, Path(pkcs15::kEfLwm2mDodf)));
  return odf;
}

Bytes Pkcs15TokenInfo(const Pkcs15Options& options) {
  // TokenInfo ::= SEQUENCE { version INTEGER {v1(0)}, serialNumber OCTET STRING,
  //   manufacturerID Label OPTIONAL, label [0] Label OPTIONAL, tokenflags TokenFlags, ... }
  // TokenFlags ::= BIT STRING { readonly(0), loginRequired(1), prnGeneration(2),
  //   eidCompliant(3) }: readonly only → 03 02 07 80.
  const Bytes version = {0x00};
  const Bytes flags = {0x07, 0x80};
  return Der(kSequence, Cat({Der(kInteger, version), Der(kOctetString, options.serial_number),
                             Der(kUtf8String, options.manufacturer_id),
                             Der(0x80, options.token_label), Der(kBitString, flags)}));
}

namespace {

// One data object described twice, opaqueDO then oidDO (see Pkcs15Dodf), pointing at `ef`.
// `oid` is the whole OBJECT IDENTIFIER encoding (06 L contents).
Bytes DataObjectEntries(std::string_view label, const std::string& application_name,
                        const Bytes& oid, uint16_t ef, const Pkcs15Quirks& quirks) {
  // DataType ::= CHOICE { opaqueDO DataObject {Opaque}, externalIDO [0] ...,
  //                       oidDO [1] DataObject {OidDO} }
  // DataObject ::= SEQUENCE { CommonObjectAttributes, CommonDataObjectAttributes,
  //                           typeAttributes [1] <type> }
  // CommonObjectAttributes ::= SEQUENCE { label Label OPTIONAL, ... }
  // CommonDataObjectAttributes ::= SEQUENCE { applicationName Label OPTIONAL,
  //                                           applicationOID OBJECT IDENTIFIER OPTIONAL }
  // The opaqueDO comes first: OpenSC reads only that form and stops at the first entry it
  // cannot decode; handset parsers (Tizen, Nordic, Open Mobile API) skip all but oidDO.
  // (reference-facts §1, measured with OpenSC 0.23.)
  const Bytes path = quirks.dodf_path_without_length ? PathWithoutLength(ef) : Path(ef);
  const Bytes common = Der(kSequence, Der(kUtf8String, label));
  // Opaque ::= ObjectValue {OCTET STRING}, a CHOICE (so [1] is explicit) whose `indirect`
  // alternative is a ReferencedValue, itself a CHOICE whose `path` alternative is a Path.
  const Bytes opaque_do =
      Der(kSequence, Cat({common, Der(kSequence, Cat({Der(kUtf8String, application_name), oid})),
                          Der(0xA1, path)}));
  // OidDO ::= SEQUENCE { id OBJECT IDENTIFIER, value ObjectValue }: the OID names the object,
  // so the class attributes carry only the applicationName (as the access-control DODF of
  // real UICCs does). oidDO's [1] replaces the DataObject's SEQUENCE tag; typeAttributes' [1]
  // wraps the OidDO SEQUENCE, explicit because TypeAttributes is a dummy reference of the
  // parameterized DataObject (X.680 §31.2.7), as the real entry A1 .. A1 14 30 12 .. shows.
  const Bytes oid_do = Der(0xA1, Cat({common, Der(kSequence, Der(kUtf8String, application_name)),
                                      Der(0xA1, Der(kSequence, Cat({oid, path})))}));
  return Cat({opaque_do, oid_do});
}

// Quirk dodf_padded_with_ff: a fixed-size DODF, FF after the entries.
Bytes Padded(Bytes dodf, const Pkcs15Quirks& quirks) {
  if (quirks.dodf_padded_with_ff && dodf.size() < pkcs15::kPaddedDodfSize) {
    dodf.resize(pkcs15::kPaddedDodfSize, 0xFF);
  }
  return dodf;
}

}  // namespace

Bytes Pkcs15Dodf(const Pkcs15Options& options) {
  const Bytes oid = Der(kOid, OidContents(pkcs15::kBootstrapOid));
  Bytes dodf = DataObjectEntries(pkcs15::kBootstrapLabel, options.application_name, oid,
                                 pkcs15::kEfDmBootstrap, options.quirks);
  // OMA ProvSC documents after the DM bootstrap, each in both forms (reference-facts §1).
  for (const Pkcs15Options::ProvScEf& ef : options.provsc) {
    Append(dodf, DataObjectEntries(ProvScLabel(ef.file), pkcs15::kProvScApplicationName,
                                   Der(kOid, OidContents(ProvScOid(ef.file))), ProvScFid(ef.file),
                                   options.quirks));
  }
  return Padded(std::move(dodf), options.quirks);
}

Bytes Pkcs15Lwm2mDodf(const Pkcs15Options& options) {
  if (!options.lwm2m_bootstrap) return {};
  Bytes oid = Der(kOid, OidContents(pkcs15::kLwm2mOid));
  // Quirk: the encoded OID once more as the content of an OID (OMA_LwM2M_for_Developers#532).
  if (options.quirks.lwm2m_oid_double_encoded) oid = Der(kOid, oid);
  return Padded(DataObjectEntries(pkcs15::kLwm2mLabel, pkcs15::kLwm2mApplicationName, oid,
                                  pkcs15::kEfLwm2mBootstrap, options.quirks),
                options.quirks);
}

std::string DmBootstrapTnds(const MoTree& tree, const Principal& reader,
                            const Pkcs15Options& options) {
  return BootstrapTndsXml(SelectBootstrapObjects(tree, reader, SelectionOf(options)));
}

Bytes DmBootstrapFile(const MoTree& tree, const Principal& reader, const Pkcs15Options& options) {
  const std::vector<BootstrapObject> objects =
      SelectBootstrapObjects(tree, reader, SelectionOf(options));
  if (options.bootstrap_format == BootstrapEfFormat::kTndsXml) {
    const std::string xml = BootstrapTndsXml(objects);
    return Bytes(xml.begin(), xml.end());
  }
  std::string error;
  // libwbxml2 encodes every document the tree can hold; should it ever refuse, the file is
  // empty rather than wrong.
  return BootstrapMessageWbxml(objects, error).value_or(Bytes{});
}

fs::FileSpec Pkcs15Application(std::string dm_prefix, std::function<int64_t()> clock,
                               const Pkcs15Options& options) {
  using AC = fs::AccessCondition;
  auto fixed = [](uint16_t fid, Bytes content) {
    return fs::FileSpec::Generated(fid, std::make_shared<FixedContent>(std::move(content)))
        .WithAccess(AC::Always(), AC::Never());
  };
  std::vector<fs::FileSpec> files = {
      fixed(pkcs15::kEfOdf, Pkcs15Odf(options)),
      fixed(pkcs15::kEfTokenInfo, Pkcs15TokenInfo(options)),
      fixed(pkcs15::kEfDodf, Pkcs15Dodf(options)),
      fs::FileSpec::Generated(
          pkcs15::kEfDmBootstrap,
          std::make_shared<BootstrapContent>(std::move(dm_prefix), std::move(clock), options))
          .WithAccess(AC::Always(), AC::Never()),
  };
  for (const Pkcs15Options::ProvScEf& ef : options.provsc) {
    files.push_back(fixed(ProvScFid(ef.file), ef.wbxml));
  }
  // LwM2M 1.1 Appendix G.3: ODF, DODF-bootstrap and EF(LwM2M_Bootstrap) READ ALW, UPDATE ADM.
  // Here the content is the profile's, fixed when the card is made: UPDATE never (6981).
  if (options.lwm2m_bootstrap) {
    files.push_back(fixed(pkcs15::kEfLwm2mDodf, Pkcs15Lwm2mDodf(options)));
    files.push_back(fixed(pkcs15::kEfLwm2mBootstrap, *options.lwm2m_bootstrap));
  }
  return fs::FileSpec::Df(pkcs15::kDfPkcs15, Pkcs15Aid(), std::move(files));
}

}  // namespace dmcard::dm
