#include "ui/xml_prompt_highlighter.h"

#include "ui/theme.h"

#include <QApplication>
#include <QColor>
#include <QRegularExpression>

namespace charaforge::ui {

XmlPromptHighlighter::XmlPromptHighlighter(QTextDocument* parent) : QSyntaxHighlighter(parent) {
    // Lighter tones on a dark theme's editor background.
    const bool dark = isDarkPalette(QApplication::palette());
    m_tagFormat.setForeground(dark ? QColor(0x7a, 0xb4, 0xff) : QColor(0x1f, 0x5f, 0xbf));
    m_tagFormat.setFontWeight(QFont::Bold);
    m_placeholderFormat.setForeground(dark ? QColor(0xe8, 0x8c, 0xd0) : QColor(0xb0, 0x40, 0x90));
    m_placeholderFormat.setFontItalic(true);
    m_commentFormat.setForeground(dark ? QColor(0xa0, 0xa0, 0xa0) : QColor(0x70, 0x70, 0x70));
}

void XmlPromptHighlighter::highlightBlock(const QString& text) {
    static const QRegularExpression tag(QStringLiteral(R"(</?[A-Za-z_][\w.:-]*[^<>]*/?>)"));
    static const QRegularExpression placeholder(QStringLiteral(R"(\$[^$\s<>]+\$)"));
    static const QRegularExpression comment(QStringLiteral("<!--.*?-->"));
    for (auto it = tag.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_tagFormat);
    }
    for (auto it = placeholder.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_placeholderFormat);
    }
    for (auto it = comment.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_commentFormat);
    }
}

} // namespace charaforge::ui
