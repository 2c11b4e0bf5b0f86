#include "ui/tag_line_edit.h"

#include <QAbstractItemView>
#include <QCompleter>
#include <QKeyEvent>
#include <QStringListModel>

namespace charaforge::ui {

TagLineEdit::TagLineEdit(QWidget* parent) : QLineEdit(parent) {
    m_model = new QStringListModel(this);
    m_completer = new QCompleter(m_model, this);
    m_completer->setWidget(this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    m_completer->setFilterMode(Qt::MatchStartsWith);
    connect(m_completer, qOverload<const QString&>(&QCompleter::activated), this, &TagLineEdit::insertCompletion);
    connect(this, &QLineEdit::textEdited, this, [this] {
        updateCompletion();
        Q_EMIT tagsEdited();
    });
}

void TagLineEdit::setVocabulary(const QStringList& tags) {
    m_model->setStringList(tags);
}

void TagLineEdit::keyPressEvent(QKeyEvent* event) {
    // While the popup is open the completer takes these keys.
    if (m_completer->popup()->isVisible()) {
        switch (event->key()) {
        case Qt::Key_Enter:
        case Qt::Key_Return:
            if (!m_completer->popup()->currentIndex().isValid()) {
                m_completer->popup()->hide();
                event->accept();
                Q_EMIT commitRequested();
                return;
            }
            event->ignore(); // the chosen completion: the completer inserts it, and its comma commits it
            return;
        case Qt::Key_Escape:
        case Qt::Key_Tab:
        case Qt::Key_Backtab:
            event->ignore();
            return;
        default:
            break;
        }
    }
    QLineEdit::keyPressEvent(event);
}

void TagLineEdit::updateCompletion() {
    const QString left = text().left(cursorPosition());
    const QString prefix = left.mid(left.lastIndexOf(u',') + 1).trimmed();
    if (prefix.isEmpty() || m_model->rowCount() == 0) {
        m_completer->popup()->hide();
        return;
    }
    m_completer->setCompletionPrefix(prefix);
    if (m_completer->completionCount() == 0) {
        m_completer->popup()->hide();
        return;
    }
    m_completer->complete();
}

void TagLineEdit::insertCompletion(const QString& tag) {
    const QString left = text().left(cursorPosition());
    const QString rest = text().mid(cursorPosition());
    const qsizetype comma = left.lastIndexOf(u',');
    QString head = comma < 0 ? QString() : left.left(comma + 1) + u' ';
    head += tag;
    if (rest.trimmed().isEmpty())
        head += QStringLiteral(", ");
    setText(head + rest);
    setCursorPosition(static_cast<int>(head.size()));
    Q_EMIT tagsEdited();
}

} // namespace charaforge::ui
