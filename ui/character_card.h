#pragma once
// One character of the prompt editor's form: a title row with the drag handle, one tag field per
// character field (prompt::character_fields order) and the card's buttons. A view: edits, clicks and
// dropped cards are signals; the prompt editor changes the document and rebuilds the cards.
#include "charaforge/prompt/prompt.h"

#include <QByteArray>
#include <QGroupBox>
#include <QString>

#include <vector>

class QDragEnterEvent;
class QDragMoveEvent;
class QDropEvent;

namespace charaforge::ui {

class TagChipEdit;
class TagVocabulary;

// The label of a prompt field in the form: "n" is "Name", "body_type" is "Body type".
QString formFieldLabel(const char* name);

class CharacterCard : public QGroupBox {
    Q_OBJECT
public:
    // Card `row` (0-based) of `count`: titled "Character <row + 1>", named "character_<row + 1>", its fields
    // "character_<row + 1>_<field>", completing from `vocabulary`.
    CharacterCard(int row, int count, const TagVocabulary& vocabulary, QWidget* parent);

    // The mime type of a dragged card (its 0-based row as text).
    static QString mimeType();

    int row() const { return m_row; }
    // The field of prompt::character_fields[field].
    TagChipEdit* field(std::size_t field) const { return m_fields.at(field); }
    // Shows `c`'s tags in the fields whose tags differ (a field being typed in that already means them is
    // left alone).
    void showCharacter(const prompt::Character& c);

Q_SIGNALS:
    // The user changed the tags of prompt::character_fields[field].
    void fieldEdited(int field);
    void duplicateRequested();
    void removeRequested();
    void moveRequested(int delta);
    void saveRequested();
    // A card was dropped on this one; `row` is the dragged card's mime data (its 0-based row as text).
    void cardDropped(const QByteArray& row);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    int m_row;
    std::vector<TagChipEdit*> m_fields;
};

} // namespace charaforge::ui
