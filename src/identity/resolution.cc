#include "identity/resolution.h"

namespace tailor::identity {

Result<ProfileId> Known(Directory& directory, std::string_view profile_id) {
  TAILOR_ASSIGN_OR_RETURN(ProfileId id, directory.FindKnown(profile_id));
  if (id != kNoProfile) return id;
  return directory.Create(profile_id, /*anonymous=*/false);
}

Result<ProfileId> Visitor(Directory& directory, std::string_view anonymous_id) {
  TAILOR_ASSIGN_OR_RETURN(ProfileId id, directory.FindAnonymous(anonymous_id));
  if (id != kNoProfile) return id;
  return directory.Create(anonymous_id, /*anonymous=*/true);
}

Result<bool> Link(Directory& directory, ProfileId known, std::string_view anonymous_id) {
  TAILOR_ASSIGN_OR_RETURN(ProfileId holder, directory.FindAnonymous(anonymous_id));
  if (holder == known) return false;
  if (holder == kNoProfile) {
    TAILOR_RETURN_IF_ERROR(directory.AddAlias(known, anonymous_id));
    return false;
  }
  TAILOR_ASSIGN_OR_RETURN(bool holder_is_anonymous, directory.IsAnonymous(holder));
  if (!holder_is_anonymous) return false;  // the first link wins
  TAILOR_RETURN_IF_ERROR(directory.Merge(known, holder));
  return true;
}

Result<ProfileId> Owner(Directory& directory, std::string_view profile_id,
                        std::string_view anonymous_id) {
  if (profile_id.empty()) return Visitor(directory, anonymous_id);
  TAILOR_ASSIGN_OR_RETURN(ProfileId owner, Known(directory, profile_id));
  if (!anonymous_id.empty()) TAILOR_RETURN_IF_ERROR(Link(directory, owner, anonymous_id).status());
  return owner;
}

}  // namespace tailor::identity
