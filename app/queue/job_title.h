#pragma once
// The one-line title of a job's prompt, for the studio's queue and `charaforge-cli queue list`.
#include <QString>

namespace charaforge::queue {

// An XML prompt's characters by name ("hatsune_miku (1girl)"), an unnamed one (no name or a $character_N$
// placeholder) by its gender and first looks ("1girl (long_hair, silver_hair)", "character 2" when it has
// neither), joined by " & ", then the style and background; any other prompt is its text without markup. At
// most `maxLength` characters (cut with an ellipsis).
QString jobTitle(const QString& prompt, int maxLength);

} // namespace charaforge::queue
