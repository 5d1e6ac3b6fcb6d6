#include "scp03_test_client.h"

#include "runtime/apdu.h"
#include "runtime/key_store.h"
#include "test_applets.h"

namespace dmcard::testing {

HostScp03Keys TestKeys(uint8_t kvn) {
  const std::string prefix = "K" + ToHex(ByteView(&kvn, 1)) + "-NOT-REAL-";
  auto key = [&prefix](const char* name) {
    const std::string s = prefix + name;
    return Bytes(s.begin(), s.end());
  };
  return {key("ENC"), key("MAC"), key("DEK")};
}

std::string LoadKeySet(Card& card, const TestKeySet& set, std::string_view owner) {
  PersistentStore& store = card.store();
  store.Begin();
  const CryptoStatus s =
      KeyLoader(store).LoadScp03KeySet(set.kvn, owner, set.keys.enc, set.keys.mac, set.keys.dek);
  if (s != CryptoStatus::kOk) {
    store.Abort();
    return "LoadScp03KeySet refused key set " + ToHex(ByteView(&set.kvn, 1));
  }
  const StoreStatus c = store.Commit();
  return c == StoreStatus::kOk ? "" : "the key set's transaction did not commit";
}

TestKeySet AddKeySetFor(Card& card, std::string_view owner) {
  for (uint8_t kvn = KeyLoader::kScp03KvnFirst; kvn <= KeyLoader::kScp03KvnLast; ++kvn) {
    if (card.keys().Find(kvn, 0x01) || card.keys().Find(kvn, 0x02) || card.keys().Find(kvn, 0x03)) {
      continue;
    }
    TestKeySet set{kvn, TestKeys(kvn)};
    const std::string error = LoadKeySet(card, set, owner);
    if (error.empty()) return set;
    ADD_FAILURE() << "key set for '" << owner << "': " << error;
    return {};
  }
  ADD_FAILURE() << "no free SCP03 KVN for '" << owner << "'";
  return {};
}

std::string OpenScp03(Card& card, HostScp03& host, uint8_t kvn, ByteView aid, uint8_t level,
                      uint8_t channel) {
  const Bytes r = card.Transmit(host.InitializeUpdate(kvn, H("0102030405060708"), channel));
  if (SwOf(r) != 0x9000) return "INITIALIZE UPDATE " + ToHex(r);
  try {
    host.ReadInitializeUpdateResponse(DataOf(r), aid);
  } catch (const HostScp03Error& e) {
    return e.what();
  }
  const Bytes a = card.Transmit(host.ExternalAuthenticate(level));
  return ToHex(a) == "9000" ? "" : "EXTERNAL AUTHENTICATE " + ToHex(a);
}

Scp03TestClient::Scp03TestClient(Card& card, TestKeySet set, uint8_t channel)
    : card_(card), set_(std::move(set)), channel_(channel), host_(set_.keys) {}

std::string Scp03TestClient::Open(ByteView aid, uint8_t level) {
  host_ = HostScp03(set_.keys);
  return OpenScp03(card_, host_, set_.kvn, aid, level, channel_);
}

Bytes Scp03TestClient::Transmit(ByteView plain) {
  Bytes r = card_.Transmit(host_.Wrap(plain));
  Bytes data = DataOf(r);
  uint16_t sw = SwOf(r);
  // ISO 7816-4 §5.3.4: the rest of the (wrapped) answer, in pieces; GET RESPONSE stays plain.
  for (int fetched = 0; (sw >> 8) == 0x61 && fetched < 1000; ++fetched) {
    r = card_.Transmit(
        Bytes{EncodeClass(0x00, channel_), 0xC0, 0x00, 0x00, static_cast<uint8_t>(sw & 0xFF)});
    Append(data, DataOf(r));
    sw = SwOf(r);
  }
  Bytes out = host_.Unwrap(data, sw);
  out.push_back(static_cast<uint8_t>(sw >> 8));
  out.push_back(static_cast<uint8_t>(sw));
  return out;
}

Bytes Scp03TestClient::Transmit(std::string_view hex) { return Transmit(H(hex)); }

}  // namespace dmcard::testing
