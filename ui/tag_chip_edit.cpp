#include "ui/tag_chip_edit.h"

#include "ui/flow_layout.h"

#include <algorithm>

#include <QAbstractItemView>
#include <QCompleter>
#include <QFrame>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QToolButton>

namespace charaforge::ui {

TagChipEdit::TagChipEdit(QWidget* parent) : QWidget(parent) {
    auto* layout = new FlowLayout(this);
    m_input = new TagLineEdit(this);
    m_input->setObjectName(QStringLiteral("tagInput"));
    m_input->setMinimumWidth(80);
    m_input->installEventFilter(this);
    layout->addWidget(m_input);
    setFocusProxy(m_input);
    connect(m_input, &TagLineEdit::tagsEdited, this, [this] {
        takeInput(false);
        Q_EMIT tagsEdited();
    });
    connect(m_input, &TagLineEdit::commitRequested, this, [this] {
        takeInput(true);
        Q_EMIT tagsEdited();
    });
}

TagChipEdit* TagChipEdit::forField(const QStringList& vocabulary, const QString& objectName, QWidget* parent) {
    auto* edit = new TagChipEdit(parent);
    edit->setObjectName(objectName);
    edit->setVocabulary(vocabulary);
    edit->setPlaceholderText(tr("add tags (comma or Enter)"));
    return edit;
}

void TagChipEdit::setVocabulary(const QStringList& tags) {
    m_input->setVocabulary(tags);
}

void TagChipEdit::setPlaceholderText(const QString& text) {
    m_input->setPlaceholderText(text);
}

QStringList TagChipEdit::chipTags() const {
    QStringList out;
    for (const QFrame* chip : m_chips)
        out.append(chip->property("tag").toString());
    return out;
}

prompt::TagList TagChipEdit::tags() const {
    prompt::TagList out = chipTags();
    out.append(prompt::split_tags(m_input->text()));
    return out;
}

QString TagChipEdit::text() const {
    return prompt::join_tags(tags());
}

void TagChipEdit::setText(const QString& text) {
    clearChips();
    for (const QString& tag : prompt::split_tags(text))
        addChip(tag);
    m_input->clear();
}

void TagChipEdit::clearChips() {
    for (QFrame* chip : m_chips) {
        chip->hide();
        chip->setParent(nullptr);
        chip->deleteLater();
    }
    m_chips.clear();
}

void TagChipEdit::addChip(const QString& tag) {
    auto* chip = new QFrame(this);
    chip->setObjectName(QStringLiteral("tagChip"));
    chip->setProperty("tag", tag);
    chip->setFrameShape(QFrame::StyledPanel);
    auto* row = new QHBoxLayout(chip);
    row->setContentsMargins(4, 0, 2, 0);
    row->setSpacing(2);
    row->addWidget(new QLabel(tag, chip));
    auto* remove = new QToolButton(chip);
    remove->setObjectName(QStringLiteral("removeTag"));
    remove->setText(QStringLiteral("\u00D7"));
    remove->setAutoRaise(true);
    remove->setToolTip(tr("Remove %1").arg(tag));
    connect(remove, &QToolButton::clicked, this, [this, chip] {
        const auto it = std::find(m_chips.begin(), m_chips.end(), chip);
        if (it != m_chips.end())
            removeChip(static_cast<int>(it - m_chips.begin()));
    });
    row->addWidget(remove);
    static_cast<FlowLayout*>(layout())->insertWidget(static_cast<int>(m_chips.size()), chip);
    chip->show();
    m_chips.push_back(chip);
}

void TagChipEdit::removeChip(int index) {
    if (index < 0 || index >= static_cast<int>(m_chips.size()))
        return;
    QFrame* chip = m_chips[static_cast<size_t>(index)];
    m_chips.erase(m_chips.begin() + index);
    // The chip's own button may be the caller: detach now, delete later.
    chip->hide();
    chip->setParent(nullptr);
    chip->deleteLater();
    Q_EMIT tagsEdited();
}

void TagChipEdit::takeInput(bool all) {
    QString typed = m_input->text();
    // A space after a comma (now a chip) is not part of the next tag.
    qsizetype lead = 0;
    while (lead < typed.size() && typed.at(lead).isSpace())
        ++lead;
    if (lead > 0) {
        const int cursor = m_input->cursorPosition();
        typed.remove(0, lead);
        m_input->setText(typed);
        m_input->setCursorPosition(std::max(0, cursor - static_cast<int>(lead)));
    }
    if (!all && !typed.contains(u','))
        return;
    const qsizetype comma = all ? typed.size() : typed.lastIndexOf(u',');
    for (const QString& tag : prompt::split_tags(typed.left(comma)))
        addChip(tag);
    m_input->setText(all ? QString() : typed.mid(comma + 1).trimmed());
}

bool TagChipEdit::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_input && event->type() == QEvent::KeyPress) {
        const int key = static_cast<QKeyEvent*>(event)->key();
        QAbstractItemView* popup = m_input->tagCompleter()->popup();
        // Enter with no completion chosen commits the typed text (a chosen one is the completer's).
        if ((key == Qt::Key_Return || key == Qt::Key_Enter) &&
            !(popup->isVisible() && popup->currentIndex().isValid())) {
            popup->hide();
            takeInput(true);
            Q_EMIT tagsEdited();
            return true;
        }
    }
    if (watched == m_input && event->type() == QEvent::KeyPress &&
        static_cast<QKeyEvent*>(event)->key() == Qt::Key_Backspace && m_input->text().isEmpty() && !m_chips.empty()) {
        removeChip(static_cast<int>(m_chips.size()) - 1);
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace charaforge::ui
