#pragma once
// Helpers shared by the parser and the serialiser; not part of the public API.
#include <QString>
#include <QStringList>
#include <QStringView>

#include <vector>

namespace charaforge::prompt::detail {

// Escapes '&', '<' and '>' and drops characters XML 1.0 cannot carry, so the result always parses.
QString escape_xml_text(QStringView text);

// split_tags() that also reports, for each tag, the offset of its first character in `text`.
QStringList split_tags_at(QStringView text, std::vector<qsizetype>* offsets);

// The key under which two tags count as the same: case-insensitive, '_' and ' ' alike.
QString tag_key(const QString& tag);

} // namespace charaforge::prompt::detail
