#pragma once
// The notice above the editor about the model in use (the test model's images are noise; the demo model is a
// small stand-in for NewBie): a rich-text line and, where it helps, a button to choose the model folder.
#include <QFrame>
#include <QString>

class QLabel;
class QPushButton;

namespace charaforge::ui {

class ModelNotice : public QFrame {
    Q_OBJECT
public:
    explicit ModelNotice(QWidget* parent = nullptr);

    // Shows `html` ("" hides the notice) with the "Choose model folder…" button when `offerChooser`.
    void setNotice(const QString& html, bool offerChooser);
    QString text() const;
    bool offersChooser() const;

Q_SIGNALS:
    // The button was pressed: the window's "Choose model folder…" (the menu's action).
    void chooseModelRequested();

private:
    QLabel* m_text = nullptr;
    QPushButton* m_choose = nullptr;
};

} // namespace charaforge::ui
