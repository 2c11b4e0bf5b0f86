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

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void updateCompletion();
    void insertCompletion(const QString& tag);

    QCompleter* m_completer = nullptr;
    QStringListModel* m_model = nullptr;
};

} // namespace charaforge::ui
