#include "ui/model_notice.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>

namespace charaforge::ui {

ModelNotice::ModelNotice(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("modelNoticeBar"));
    setStyleSheet(QStringLiteral("#modelNoticeBar { background: #fff4ce; border: 1px solid #e0c060; "
                                 "border-radius: 4px; } #modelNoticeBar QLabel { color: #3b2f00; }"));
    m_text = new QLabel(this);
    m_text->setObjectName(QStringLiteral("modelNotice"));
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_choose = new QPushButton(tr("Choose model folder…"), this);
    m_choose->setObjectName(QStringLiteral("modelNoticeChoose"));
    m_choose->hide();
    connect(m_choose, &QPushButton::clicked, this, &ModelNotice::chooseModelRequested);
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(8, 8, 8, 8);
    row->addWidget(m_text, 1);
    row->addWidget(m_choose, 0, Qt::AlignVCenter);
    hide();
}

void ModelNotice::setNotice(const QString& html, bool offerChooser) {
    m_text->setText(html);
    m_choose->setVisible(offerChooser && !html.isEmpty());
    setVisible(!html.isEmpty());
}

QString ModelNotice::text() const {
    return m_text->text();
}

bool ModelNotice::offersChooser() const {
    return !m_choose->isHidden();
}

} // namespace charaforge::ui
