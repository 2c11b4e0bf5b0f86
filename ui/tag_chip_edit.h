#pragma once
#include "charaforge/prompt/prompt.h"
#include "ui/tag_line_edit.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

class QCompleter;
class QEvent;
class QFrame;

namespace charaforge::ui {

// A tag field shown as removable chips followed by an input line with the field's completion.
// Typing a comma or pressing Enter turns the typed text into a chip, Backspace in an empty input
// removes the last chip and a chip's x button removes it. The value is the chips plus the typed text.
class TagChipEdit : public QWidget {
    Q_OBJECT
public:
    explicit TagChipEdit(QWidget* parent = nullptr);
    // A field of the prompt form: named `objectName`, completing from `vocabulary`, with the form's hint.
    static TagChipEdit* forField(const QStringList& vocabulary, const QString& objectName, QWidget* parent);
    void setVocabulary(const QStringList& tags);
    void setPlaceholderText(const QString& text);
    QCompleter* tagCompleter() const { return m_input->tagCompleter(); }
    TagLineEdit* input() const { return m_input; }

    // The tags (chips, then the typed text) joined by ", ".
    QString text() const;
    prompt::TagList tags() const;
    // Replaces the chips and clears the input; does not emit tagsEdited().
    void setText(const QString& text);
    // The tags shown as chips.
    QStringList chipTags() const;
    // Removes chip `index` as the user would (emits tagsEdited()).
    void removeChip(int index);

Q_SIGNALS:
    // The user changed the tags; not emitted by setText().
    void tagsEdited();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void addChip(const QString& tag);
    void clearChips();
    // Turns the complete tags typed in the input (those followed by a comma) into chips.
    void takeInput(bool all);

    TagLineEdit* m_input = nullptr;
    std::vector<QFrame*> m_chips;
};

} // namespace charaforge::ui
