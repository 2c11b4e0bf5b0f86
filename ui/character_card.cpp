#include "ui/character_card.h"

#include "ui/drag_handle.h"
#include "ui/flow_layout.h"
#include "ui/tag_chip_edit.h"
#include "ui/tag_vocabulary.h"

#include <QDragEnterEvent>
#include <QDragMoveEvent>
#include <QDropEvent>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QMimeData>
#include <QPushButton>
#include <QVBoxLayout>

namespace charaforge::ui {

QString formFieldLabel(const char* name) {
    QString label = QString::fromLatin1(name);
    if (label == QLatin1String("n"))
        return QObject::tr("Name");
    label.replace(u'_', u' ');
    label[0] = label[0].toUpper();
    return label;
}

CharacterCard::CharacterCard(int row, int count, const TagVocabulary& vocabulary, QWidget* parent)
    : QGroupBox(tr("Character %1").arg(row + 1), parent), m_row(row) {
    const QString name = QStringLiteral("character_") + QString::number(row + 1);
    setObjectName(name);
    setAcceptDrops(true);
    auto* layout = new QVBoxLayout(this);
    auto* titleRow = new QHBoxLayout;
    titleRow->addWidget(new DragHandle(row, mimeType(), this));
    titleRow->addStretch(1);
    layout->addLayout(titleRow);
    auto* form = new QFormLayout;
    // A field too narrow beside its label goes below it, in a narrow pane.
    form->setRowWrapPolicy(QFormLayout::WrapLongRows);
    for (std::size_t f = 0; f < prompt::character_fields.size(); ++f) {
        const QString field = QString::fromLatin1(prompt::character_fields[f].name);
        TagChipEdit* edit = TagChipEdit::forField(vocabulary.tags(field), name + u'_' + field, this);
        form->addRow(formFieldLabel(prompt::character_fields[f].name), edit);
        m_fields.push_back(edit);
        connect(edit, &TagChipEdit::tagsEdited, this, [this, f] { Q_EMIT fieldEdited(static_cast<int>(f)); });
    }
    layout->addLayout(form);
    // The buttons wrap onto a second row in a narrow pane rather than widen the card past it.
    auto* buttons = new FlowLayout(nullptr);
    auto button = [&](const QString& text, const char* objectName, auto signal) {
        auto* b = new QPushButton(text, this);
        b->setObjectName(QString::fromLatin1(objectName));
        connect(b, &QPushButton::clicked, this, signal);
        buttons->addWidget(b);
        return b;
    };
    button(tr("Duplicate"), "duplicate", [this] { Q_EMIT duplicateRequested(); });
    button(tr("Remove"), "remove", [this] { Q_EMIT removeRequested(); });
    // Arrows keep the card's button row narrow.
    QPushButton* up = button(QStringLiteral("\u2191"), "moveUp", [this] { Q_EMIT moveRequested(-1); });
    up->setEnabled(row > 0);
    up->setToolTip(tr("Move up"));
    QPushButton* down = button(QStringLiteral("\u2193"), "moveDown", [this] { Q_EMIT moveRequested(1); });
    down->setEnabled(row + 1 < count);
    down->setToolTip(tr("Move down"));
    button(tr("Save to library"), "saveToLibrary", [this] { Q_EMIT saveRequested(); });
    buttons->addItem(new QSpacerItem(0, 0)); // the last item takes the rest of its row: not a button
    layout->addLayout(buttons);
}

QString CharacterCard::mimeType() {
    return QStringLiteral("application/x-charaforge-character-row");
}

void CharacterCard::showCharacter(const prompt::Character& c) {
    for (std::size_t f = 0; f < prompt::character_fields.size(); ++f) {
        const prompt::TagList& value = c.*prompt::character_fields[f].member;
        if (prompt::split_tags(m_fields[f]->text()) != value)
            m_fields[f]->setText(prompt::join_tags(value));
    }
}

namespace {
// Takes a dragged card (a move); false for anything else.
bool acceptCard(QDragMoveEvent* event) {
    if (!event->mimeData()->hasFormat(CharacterCard::mimeType()))
        return false;
    event->setDropAction(Qt::MoveAction);
    event->accept();
    return true;
}
} // namespace

void CharacterCard::dragEnterEvent(QDragEnterEvent* event) {
    if (!acceptCard(event))
        QGroupBox::dragEnterEvent(event);
}

void CharacterCard::dragMoveEvent(QDragMoveEvent* event) {
    if (!acceptCard(event))
        QGroupBox::dragMoveEvent(event);
}

void CharacterCard::dropEvent(QDropEvent* event) {
    const QByteArray row = event->mimeData()->data(mimeType());
    if (row.isEmpty()) {
        QGroupBox::dropEvent(event);
        return;
    }
    event->setDropAction(Qt::MoveAction);
    event->accept();
    Q_EMIT cardDropped(row);
}

} // namespace charaforge::ui
