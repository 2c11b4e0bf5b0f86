#pragma once
#include <QLineEdit>
#include <QStringList>

class QCompleter;
class QKeyEvent;
class QStringListModel;

namespace charaforge::ui {

// A line of comma-separated tags whose completer completes the tag after the last comma.
class TagLineEdit : public QLineEdit {
    Q_OBJECT
public:
    explicit TagLineEdit(QWidget* parent = nullptr);
    void setVocabulary(const QStringList& tags);
    QCompleter* tagCompleter() const { return m_completer; }

Q_SIGNALS:
    // The user changed the tags (typing or accepting a completion); not emitted by setText().
    void tagsEdited();
    // Enter while the completion popup is open and no completion is chosen: the typed tag is to be committed now
    // (the popup used to take that Enter, and the tag needed a second one).
    void commitRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void updateCompletion();
    void insertCompletion(const QString& tag);

    QCompleter* m_completer = nullptr;
    QStringListModel* m_model = nullptr;
};

} // namespace charaforge::ui
