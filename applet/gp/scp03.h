// GlobalPlatform Secure Channel Protocol '03' (SCP03), card side: the cryptographic core.
//
// Reference: GlobalPlatform Card Specification v2.3 Amendment D "Secure Channel Protocol 03"
// (section numbers as in its versions 1.0 to 1.2). Everything here is a pure function of its
// inputs or of one Scp03Channel's state: bytes in, bytes out, a status out. No APDU dispatch, no
// INITIALIZE UPDATE/EXTERNAL AUTHENTICATE command handlers and no sequence counter persistence
// live here (gp/scp03_handshake.h has them, gp/scp03_session.h the runtime's session over an
// Scp03Channel). On the card the static keys stay in the key store (runtime/key_store.h): the
// entries taking a KeyStore run the KDF over KeyStore::Scp03Prf, so only derived session
// material reaches this code; the entries taking StaticKeys are for known-answer tests.
//
//   INITIALIZE UPDATE   caller picks the card challenge (random from crypto::Drbg, or
//                       PseudoRandomCardChallenge with the persistent sequence counter), calls
//                       Scp03Channel::Initialize and answers InitializeUpdateResponse::Encode().
//   EXTERNAL AUTHENTICATE  Scp03Channel::ExternalAuthenticate(raw C-APDU) checks the C-MAC and
//                       the host cryptogram and sets the security level; answer 9000 unwrapped.
//   every later C-APDU  Scp03Channel::UnwrapCommand(raw) -> plain C-APDU for the applet;
//                       Scp03Channel::WrapResponse(data, SW) -> the response data to send.
//
// Any status other than kOk from ExternalAuthenticate/UnwrapCommand closes the channel (session
// keys wiped): a command that fails verification ends the secure channel session, and the
// caller answers the status word StatusWordFor() gives without running the command.
//
// Class byte (CLA). SCP03 marks a secured command with GlobalPlatform's secure messaging
// indication: b3 = 1 (b4 = 0) for the first interindustry/proprietary classes ('84'-'87',
// '04'-'07', chaining bit b5 allowed), b6 = 1 for the further ones ('E0'-'EF', '60'-'6F'). For the
// C-MAC, Amendment D §6.2.4 modifies the class byte: logical channel number zero, b4 = 0,
// b3 = 1. This library reads that literally: the MACed CLA is b8 and b5 as sent, then '04'
// (so '84' for any GP command on channels 0-19, '94' inside a chain). The unwrapped command keeps
// the channel and chaining bits as sent, with the indication cleared. (ETSI TS 102 221 §10.1.1
// gives the reason: a secure messaging signature must not depend on the logical channel.) The
// published vectors all use channel 0; implementations differ for channels 4-19 (pySim MACs
// CLA & 'F0' | '04', asterix b8 | '04').
//
// C-MAC and command chaining (ISO/IEC 7816-4 command chaining, CLA b5). Amendment D §6.2.4
// defines the C-MAC per C-APDU as transmitted: over the MAC chaining value, the (modified)
// header, Lc and the data field of that one command. Nothing in SCP03 treats a chain as one
// unit, so each C-APDU of a chain is unwrapped on its own: it carries its own C-MAC over its own
// header and data (its own CLA, b5 set on all parts but the last), its C-MAC becomes the chaining
// value for the next part, and under C-DECRYPTION each part's data is padded and encrypted on
// its own with its own counter value (§6.2.6). The session layer unwraps every part before chain
// assembly, and wraps every part's response: an intermediate part's plain 9000 gets its own R-MAC
// under an R-MAC level, just as any other successful command.
//
// R-MAC and 61xx / GET RESPONSE. Amendment D §6.2.5 computes the R-MAC over the MAC chaining
// value (the C-MAC of the command being answered), the response data field and the status word;
// with R-ENCRYPTION (§6.2.7) the data is encrypted first and the R-MAC covers the ciphertext. The
// card computes this once, over the complete response to the command and the applet's final
// status word, before the runtime cuts the result into pieces: the R-MAC is the last bytes of the
// whole, so it arrives with the last part, the host concatenates all parts and verifies with the
// final status word (never with a 61xx). GET RESPONSE is a transport command (ISO/IEC 7816-4;
// with T=0 also the way every case 4 answer is fetched): it is neither unwrapped nor wrapped and
// does not move the MAC chaining value or the encryption counter. An error status word (anything
// but 9000, 62xx, 63xx) gets no R-MAC and no data (§6.2.5).
//
// What is not supported: the BEGIN R-MAC SESSION / END R-MAC SESSION commands, the
// security level '00' (authentication without secure messaging), decoding the S16 bit of the "i"
// parameter (the caller chooses S8 or S16 explicitly).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "crypto/crypto.h"
#include "runtime/key_store.h"

namespace dmcard::gp {

using Bytes = crypto::Bytes;
using ByteView = crypto::ByteView;

// Outcome of every SCP03 operation. Apart from kOk, each closes an Scp03Channel it came from.
enum class Scp03Status : uint8_t {
  kOk,
  kBadKey,                // a static or session key that is not an AES-128/192/256 key
  kBadArgument,           // a challenge, AID, counter or output length SCP03 does not define
  kMalformedApdu,         // the bytes are not a well-formed C-APDU carrying a MAC
  kNoSecureMessaging,     // CLA lacks GlobalPlatform's secure messaging indication
  kMacMismatch,           // C-MAC wrong: tampered, replayed, reordered or under another key
  kCryptogramMismatch,    // EXTERNAL AUTHENTICATE: wrong host cryptogram
  kBadPadding,            // C-DECRYPTION: not whole blocks, or not '80 00..' padded, or empty
  kSecurityLevelRefused,  // EXTERNAL AUTHENTICATE asks for a level that is not offered
  kWrongState,            // the channel is not in the state this call needs (e.g. closed)
  kInternal,              // the crypto facade failed unexpectedly
};

std::string_view ToString(Scp03Status status);

// The status word a session layer answers for a refused command: 6700 malformed, 6300 wrong host
// cryptogram (Amendment D, EXTERNAL AUTHENTICATE error conditions), 6A86 refused security level
// (P1), 6985 wrong state, 6982 for every secure messaging failure, 6F00 otherwise; 9000 for kOk.
uint16_t StatusWordFor(Scp03Status status);

// Key identifiers of an SCP03 key set's members (Amendment D §6.1; runtime/key_store.h loads them).
inline constexpr uint8_t kKeyIdEnc = 0x01;
inline constexpr uint8_t kKeyIdMac = 0x02;
inline constexpr uint8_t kKeyIdDek = 0x03;

// Security level bits, EXTERNAL AUTHENTICATE P1 (Amendment D, EXTERNAL AUTHENTICATE command).
inline constexpr uint8_t kLevelCMac = 0x01;
inline constexpr uint8_t kLevelCDecryption = 0x02;
inline constexpr uint8_t kLevelRMac = 0x10;
inline constexpr uint8_t kLevelREncryption = 0x20;
// The levels this library runs: 01, 03, 11, 13, 33.
bool IsSupportedSecurityLevel(uint8_t level);

// "i" parameter bits announced in INITIALIZE UPDATE (Amendment D §5.1).
inline constexpr uint8_t kIPseudoRandomChallenge = 0x10;
inline constexpr uint8_t kIRMacSupported = 0x20;
inline constexpr uint8_t kIREncryptionSupported = 0x40;

// S8 mode: 8-byte challenges, cryptograms and MACs. S16 mode: 16-byte ones (Amendment D v1.1.1+).
enum class SMode : uint8_t { kS8 = 8, kS16 = 16 };
inline size_t Length(SMode mode) { return static_cast<size_t>(mode); }

// Data derivation constants (Amendment D §4.1.5, Table 4-1).
enum class DerivationConstant : uint8_t {
  kCardCryptogram = 0x00,
  kHostCryptogram = 0x01,
  kCardChallenge = 0x02,
  kSEnc = 0x04,
  kSMac = 0x06,
  kSRMac = 0x07,
};

// The static key set of a security domain (one key version number): AES-128, -192 or -256, all
// three of one length.
struct StaticKeys {
  Bytes enc;  // K-ENC: derives S-ENC and the pseudo-random card challenge
  Bytes mac;  // K-MAC: derives S-MAC and S-RMAC
  Bytes dek;  // K-DEK: used as is for sensitive data (PUT KEY, STORE DATA); not session-derived
};

// Session keys of one secure channel session (Amendment D §6.2.1), as long as the static keys.
struct SessionKeys {
  Bytes s_enc;
  Bytes s_mac;
  Bytes s_rmac;
};

// ---- derivation (Amendment D §4.1.5, §6.2.1, §6.2.2) -------------------------------------------

// NIST SP 800-108 KDF in counter mode, PRF = AES-CMAC, in SCP03's field order: for i = 1, 2, ...
// CMAC(key, 11 x '00' || constant || '00' || L (2 bytes, bits) || i (1 byte) || context),
// concatenated and cut to L bits. `output_bits` must be a non-zero multiple of 8.
Scp03Status Kdf(ByteView key, DerivationConstant constant, uint16_t output_bits, ByteView context,
                Bytes& out);

// S-ENC, S-MAC, S-RMAC from the static keys, context = host challenge || card challenge. Both
// challenges are 8 bytes (S8) or 16 bytes (S16), equally long.
Scp03Status DeriveSessionKeys(const StaticKeys& keys, ByteView host_challenge,
                              ByteView card_challenge, SessionKeys& out);

// Card and host authentication cryptograms (§6.2.2.2, §6.2.2.3): KDF under S-MAC with the same
// context, 64 bits (S8) or 128 bits (S16, the challenges' length decides).
Scp03Status CardCryptogram(const SessionKeys& keys, ByteView host_challenge,
                           ByteView card_challenge, Bytes& out);
Scp03Status HostCryptogram(const SessionKeys& keys, ByteView host_challenge,
                           ByteView card_challenge, Bytes& out);

// Pseudo-random card challenge (§6.2.2.1): KDF under K-ENC, constant 02, context = the 3-byte
// sequence counter (as returned in INITIALIZE UPDATE) || the security domain's AID (5-16 bytes).
Scp03Status PseudoRandomCardChallenge(ByteView k_enc, uint32_t sequence_counter, ByteView sd_aid,
                                      SMode mode, Bytes& out);

// The same three from static keys kept in the card's key store (K-ENC and K-MAC by handle, their
// usages kScp03Enc and kScp03Mac): the key store computes each KDF block, the key bytes never
// leave it. A key the store refuses (missing, wrong usage, its set blocked) gives kBadKey.
Scp03Status DeriveSessionKeys(KeyStore& keys, KeyHandle k_enc, KeyHandle k_mac,
                              ByteView host_challenge, ByteView card_challenge, SessionKeys& out);
Scp03Status PseudoRandomCardChallenge(KeyStore& keys, KeyHandle k_enc, uint32_t sequence_counter,
                                      ByteView sd_aid, SMode mode, Bytes& out);

// The INITIALIZE UPDATE response data field (Amendment D, INITIALIZE UPDATE command, Table 7-3).
struct InitializeUpdateResponse {
  Bytes key_diversification_data = Bytes(10, 0);  // 10 bytes
  uint8_t key_version = 0;                        // KVN of the static keys used
  uint8_t i = 0;                                  // "i" parameter
  Bytes card_challenge;
  Bytes card_cryptogram;
  std::optional<uint32_t> sequence_counter;  // 3 bytes; present with pseudo-random challenges
  // KDD || KVN || '03' || i || card challenge || card cryptogram [|| sequence counter].
  Bytes Encode() const;
};

// ---- secure messaging primitives (Amendment D §6.2.4 - §6.2.7) --------------------------------

// ISO/IEC 9797-1 padding method 2 to a multiple of 16 bytes: '80' then '00's (always adds 1-16).
void PadIso9797Method2(Bytes& data);
// Removes that padding; false when `data` does not end in it (or is not whole blocks).
bool UnpadIso9797Method2(Bytes& data);

// The full 16-byte C-MAC: AES-CMAC(S-MAC, chaining value || `command_part`), where
// `command_part` is the modified header, Lc and data field (§6.2.4). The C-MAC is also the next
// chaining value; the command carries its first 8 (S8) or 16 (S16) bytes.
Scp03Status ComputeCMac(ByteView s_mac, ByteView chaining_value, ByteView command_part, Bytes& mac);
// The full 16-byte R-MAC: AES-CMAC(S-RMAC, chaining value || data || SW1 SW2) (§6.2.5).
Scp03Status ComputeRMac(ByteView s_rmac, ByteView chaining_value, ByteView response_data,
                        uint16_t sw, Bytes& mac);

// Command data encryption (§6.2.6): ICV = AES(S-ENC, counter as a 16-byte big-endian block),
// AES-CBC over the padded data. `counter` is the encryption counter of the command (1 for the
// first command after EXTERNAL AUTHENTICATE).
Scp03Status EncryptCommandData(ByteView s_enc, uint64_t counter, ByteView plain, Bytes& out);
Scp03Status DecryptCommandData(ByteView s_enc, uint64_t counter, ByteView cipher, Bytes& out);
// Response data encryption (§6.2.7): as above with the counter block's first byte set to '80'.
Scp03Status EncryptResponseData(ByteView s_enc, uint64_t counter, ByteView plain, Bytes& out);
Scp03Status DecryptResponseData(ByteView s_enc, uint64_t counter, ByteView cipher, Bytes& out);

// ---- the card's side of one secure channel session --------------------------------------------

struct ChannelOptions {
  SMode mode = SMode::kS8;
  // "i" as announced in INITIALIZE UPDATE: levels with R-MAC need kIRMacSupported, levels with
  // R-ENCRYPTION also kIREncryptionSupported.
  uint8_t i = kIRMacSupported | kIREncryptionSupported;
};

class Scp03Channel {
 public:
  enum class State : uint8_t {
    kClosed,                  // no session (initially, after Close() and after any failure)
    kAwaitingAuthentication,  // after Initialize: EXTERNAL AUTHENTICATE expected
    kOpen,                    // authenticated: commands are unwrapped at security_level()
  };

  Scp03Channel() = default;
  ~Scp03Channel();
  Scp03Channel(const Scp03Channel&) = delete;
  Scp03Channel& operator=(const Scp03Channel&) = delete;
  Scp03Channel(Scp03Channel&& other) noexcept;
  Scp03Channel& operator=(Scp03Channel&& other) noexcept;

  // INITIALIZE UPDATE: derives the session keys and both cryptograms. Replaces any session.
  Scp03Status Initialize(const StaticKeys& keys, ByteView host_challenge, ByteView card_challenge,
                         const ChannelOptions& options = {});
  // The same with the static keys in the card's key store (the card's way).
  Scp03Status Initialize(KeyStore& keys, KeyHandle k_enc, KeyHandle k_mac, ByteView host_challenge,
                         ByteView card_challenge, const ChannelOptions& options = {});
  // The card cryptogram for the INITIALIZE UPDATE response (empty unless initialized).
  const Bytes& card_cryptogram() const { return card_cryptogram_; }

  // EXTERNAL AUTHENTICATE as received: CLA with the SM indication, INS '82', P1 = security level,
  // P2 '00', data = host cryptogram || C-MAC (Lc 10 in S8, 20 in S16), no Le. The C-MAC starts
  // from a zero chaining value (§6.2.3); data is never encrypted. On kOk the channel is open.
  Scp03Status ExternalAuthenticate(ByteView command);

  // A C-APDU received in the open session, short or extended (ISO/IEC 7816-3 §12.1.3), carrying
  // the SM indication and a C-MAC as its last data bytes (Lc counting them). Verifies the C-MAC,
  // advances the chaining value and the encryption counter, decrypts the data under
  // C-DECRYPTION, and sets `plain` to the command the applet sees: CLA without the indication,
  // Lc/data of the plain data (absent when there is none), Le as sent; the length fields keep
  // the command's short or extended form. For an extended command the C-MAC covers Lc as sent
  // ('00' and two bytes); no published vector covers extended lengths (pySim's are short only).
  Scp03Status UnwrapCommand(ByteView command, Bytes& plain);

  // The complete response to the last unwrapped command (`data` as the applet answered it and
  // its final `sw`), before any 61xx split. Sets `out` to the response data field to send: with
  // R-ENCRYPTION the padded, encrypted data (none stays none); with R-MAC the R-MAC appended;
  // for an error status word nothing at all. Without R-MAC in the level `out` is `data`.
  // kWrongState unless a command was unwrapped and not yet answered.
  Scp03Status WrapResponse(ByteView data, uint16_t sw, Bytes& out);

  // Ends the session and wipes the session keys.
  void Close();

  State state() const { return state_; }
  uint8_t security_level() const { return level_; }
  SMode mode() const { return options_.mode; }
  // The encryption counter of the last unwrapped command (0 right after authentication).
  uint64_t encryption_counter() const { return counter_; }
  // The full 16-byte C-MAC of the last verified command (empty unless open).
  const Bytes& mac_chaining_value() const { return chaining_; }

 private:
  Scp03Status Fail(Scp03Status status);
  // Initialize's common part once the session keys are derived (or failed to be).
  Scp03Status Start(Scp03Status derived, ByteView host_challenge, ByteView card_challenge,
                    const ChannelOptions& options);

  State state_ = State::kClosed;
  ChannelOptions options_;
  SessionKeys keys_;
  Bytes host_cryptogram_;
  Bytes card_cryptogram_;
  Bytes chaining_;
  uint64_t counter_ = 0;
  uint8_t level_ = 0;
  bool response_pending_ = false;
};

}  // namespace dmcard::gp
