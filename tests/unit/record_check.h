// Holds every record of a card to its owner's declarations (runtime/record_names.h): the DM applet
// (dm/records.h), the file-system applet (fs/fs_applet.h), the PIN service (runtime/pin.h), the
// key store (runtime/key_store.h) and the event log (runtime/event_log.h).
#pragma once

#include <string>

#include "dm/records.h"
#include "fs/fs_applet.h"
#include "runtime/event_log.h"
#include "runtime/key_store.h"
#include "runtime/persistent_store.h"
#include "runtime/pin.h"

namespace dmcard::testing {

// "" when every record of `store` is declared by the owner of its namespace, is not a legacy
// record (those are gone once the card has started), and begins with its declared format
// version where the declaration names one; else one line per record at fault.
inline std::string UndeclaredRecords(const PersistentStore& store) {
  std::string findings;
  for (const std::string& name : store.Keys("")) {
    std::span<const RecordName> names;
    if (name.rfind("dm/", 0) == 0) {
      names = dm::records::kAll;
    } else if (name.rfind("fs/", 0) == 0) {
      names = fs::kFsRecordNames;
    } else if (name.rfind("card/key/", 0) == 0) {
      names = KeyStore::kRecordNames;
    } else if (name.rfind("card/log/", 0) == 0) {
      names = EventLog::kRecordNames;
    } else if (name.rfind("card/pin/", 0) == 0 || name.rfind("card/puk/", 0) == 0) {
      names = kPinRecordNames;
    }
    const RecordName* declared = FindRecordName(names, name);
    const Bytes* record = store.Get(name);
    if (declared == nullptr) {
      findings += name + ": declared by no owner\n";
    } else if (declared->legacy) {
      findings += name + ": a legacy record still there\n";
    } else if (declared->version != 0 && (record->empty() || (*record)[0] != declared->version)) {
      findings += name + ": not format version " + std::to_string(declared->version) + "\n";
    }
  }
  return findings;
}

}  // namespace dmcard::testing
