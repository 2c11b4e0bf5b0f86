#pragma once
#include <QDoubleSpinBox>

namespace charaforge::ui {

// A spin box of doubles that keeps many decimals (a value typed on the command line, 4.125, comes back
// exactly) but shows only the digits a value has: "5", "4.5", "0.125", not "5.00000000".
class DecimalSpinBox : public QDoubleSpinBox {
    Q_OBJECT
public:
    static constexpr int kDecimals = 8;

    explicit DecimalSpinBox(QWidget* parent = nullptr);
    QString textFromValue(double value) const override;
};

} // namespace charaforge::ui
