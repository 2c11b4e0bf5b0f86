#pragma once
// Colours an XML prompt: element tags, $placeholders$ and comments.
#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace charaforge::ui {

class XmlPromptHighlighter : public QSyntaxHighlighter {
public:
    explicit XmlPromptHighlighter(QTextDocument* parent);

protected:
    void highlightBlock(const QString& text) override;

private:
    QTextCharFormat m_tagFormat;
    QTextCharFormat m_placeholderFormat;
    QTextCharFormat m_commentFormat;
};

} // namespace charaforge::ui
