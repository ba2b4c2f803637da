#pragma once

// Identity resolution: which profile owns what an event or a call says, when an anonymous id
// becomes an alias of a known profile, and when two profiles become one. The rules are here; the
// write that applies them (the engine's staged write) is behind `Directory`, so the rules read
// the same whatever stores the profiles.
//
// The rules:
//  - a profile id (userId) names a known profile, created when new;
//  - an anonymous id alone names the known profile it is an alias of, else the visitor's own
//    anonymous profile, created when new;
//  - both together link them: an anonymous id nobody holds becomes an alias of the known
//    profile; one that names an anonymous profile merges that profile (its events, traits and
//    ids) into the known one, the visitor signing in; one that is already an alias of another
//    known profile stays where it is (the first link wins: a shared device does not merge two
//    customers).

#include <string_view>

#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::identity {

// What resolution needs of the write it runs in. Every change is staged into that write and
// commits (or not) with it.
class Directory {
 public:
  virtual ~Directory() = default;
  // The profile the id names, or kNoProfile.
  virtual Result<ProfileId> FindKnown(std::string_view profile_id) = 0;
  virtual Result<ProfileId> FindAnonymous(std::string_view anonymous_id) = 0;
  // A new profile named by the id.
  virtual Result<ProfileId> Create(std::string_view id, bool anonymous) = 0;
  virtual Result<bool> IsAnonymous(ProfileId profile) = 0;
  // From now on `anonymous_id` names `known`.
  virtual Status AddAlias(ProfileId known, std::string_view anonymous_id) = 0;
  // Everything of `from` (events, traits: the one set later wins, ids) moves to `into`, and
  // `from` is gone.
  virtual Status Merge(ProfileId into, ProfileId from) = 0;
};

// The known profile `profile_id`, created when new.
Result<ProfileId> Known(Directory& directory, std::string_view profile_id);

// The profile an anonymous id alone names (the rules above).
Result<ProfileId> Visitor(Directory& directory, std::string_view anonymous_id);

// Links `anonymous_id` to the known profile `known` (the rules above). Returns whether a
// profile was merged into `known`.
Result<bool> Link(Directory& directory, ProfileId known, std::string_view anonymous_id);

// The profile that owns an event carrying these ids (at least one is set); linking them first
// when both are.
Result<ProfileId> Owner(Directory& directory, std::string_view profile_id,
                        std::string_view anonymous_id);

}  // namespace tailor::identity
