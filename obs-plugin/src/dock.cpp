/*
 * The "Live Shop" dock: connection status, viewers now, the show on air
 * with its sales, the catalog with a pin button per offer, the pinned
 * offer and its live stock, the countdown, the disclosure toggle, the
 * viewers' questions (pin, pin with an answer, dismiss, block), the saved
 * answers, the poll with its live tally, the last purchases, and the
 * server settings. A thin Qt layer: every action
 * is a shop_link call (non-blocking), and a QTimer redraws from
 * shop_link_view when its generation changes.
 */
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDockWidget>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QStringList>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <cstdio>
#include <cstring>

#include <memory>
#include <vector>

#include "dock.h"
#include "plugin.h"

namespace
{

const char *const kinds[] = {"ad", "sponsored", "affiliate", "gifted", "own"};

QString text(const char *key)
{
	return QString::fromUtf8(obs_module_text(key));
}

QString status_text(shop_status status)
{
	switch (status) {
	case SHOP_UNCONFIGURED:
		return text("Dock.Status.Unconfigured");
	case SHOP_CONNECTING:
		return text("Dock.Status.Connecting");
	case SHOP_ONLINE:
		return text("Dock.Status.Online");
	case SHOP_OFFLINE:
		return text("Dock.Status.Offline");
	case SHOP_REFUSED:
		return text("Dock.Status.Refused");
	}
	return QString();
}

QString stock_text(int64_t stock)
{
	if (stock == LSHOP_STOCK_UNLIMITED)
		return text("Dock.StockUnlimited");
	return QString::number(stock);
}

QString viewers_text(int64_t viewers)
{
	/* -1: not known (an en dash) */
	return text("Dock.Viewers")
	    .arg(viewers < 0 ? QString(QChar(0x2013))
			     : QString::number(viewers));
}

QString money_text(const shop_money &m)
{
	QString s = QString::fromUtf8(m.amount);

	if (m.currency[0])
		s += QStringLiteral(" ") + QString::fromUtf8(m.currency);
	return s;
}

/* "123.45 EUR", "12.00 EUR + 3.00 USD" when mixed, or "not known" */
QString gmv_text(const shop_show_sales &s)
{
	QStringList sums;

	for (size_t i = 0; i < s.ngmv; i++)
		sums << money_text(s.gmv[i]);
	if (sums.isEmpty())
		return text("Dock.GmvUnknown");
	return sums.join(QStringLiteral(" + "));
}

QString show_text(const shop_view &v)
{
	QString title = QString::fromUtf8(v.show_title);

	if (!v.show_live)
		return text("Dock.NoShow");
	if (!v.have_sales)
		return text("Dock.Show").arg(title);
	/* one pass, so that a "%2" in the title stays as it is */
	if (v.sales.orders == 1)
		return text("Dock.ShowSales.One").arg(title, gmv_text(v.sales));
	return text("Dock.ShowSales")
	    .arg(title, gmv_text(v.sales), QString::number(v.sales.orders));
}

/* "12 (40 %)": an option's votes and share */
QString tally_text(int64_t n, int64_t total)
{
	int64_t pct = total > 0 ? (n * 100 + total / 2) / total : 0;

	return text("Dock.Poll.Tally")
	    .arg(QString::number(n), QString::number(pct));
}

QPushButton *row_button(QWidget *parent, const char *key,
			const QString &accessible)
{
	auto *b = new QPushButton(text(key), parent);
	b->setAccessibleName(accessible);
	b->setToolTip(accessible);
	return b;
}

/* The text, and the same as the name a screen reader says. */
void set_label(QLabel *label, const QString &s)
{
	if (label->text() == s)
		return;
	label->setText(s);
	label->setAccessibleName(s);
}

class LiveShopDock : public QWidget
{
      public:
	explicit LiveShopDock(QWidget *parent) : QWidget(parent)
	{
		auto *layout = new QVBoxLayout(this);

		status = new QLabel(this);
		status->setWordWrap(true);
		layout->addWidget(status);

		viewers_line = new QLabel(this);
		viewers_line->setObjectName("LiveShopViewers");
		viewers_line->setWordWrap(true);
		layout->addWidget(viewers_line);
		show_line = new QLabel(this);
		show_line->setObjectName("LiveShopShow");
		show_line->setWordWrap(true);
		layout->addWidget(show_line);

		pinned = new QLabel(this);
		pinned->setWordWrap(true);
		unpin = new QPushButton(text("Dock.Unpin"), this);
		auto *pinned_row = new QHBoxLayout();
		pinned_row->addWidget(pinned, 1);
		pinned_row->addWidget(unpin);
		layout->addLayout(pinned_row);

		catalog = new QTableWidget(0, 4, this);
		catalog->setHorizontalHeaderLabels(
		    {text("Dock.Catalog.Title"), text("Dock.Catalog.Price"),
		     text("Dock.Catalog.Stock"), QString()});
		catalog->horizontalHeader()->setSectionResizeMode(
		    0, QHeaderView::Stretch);
		catalog->verticalHeader()->setVisible(true);
		catalog->setEditTriggers(QAbstractItemView::NoEditTriggers);
		catalog->setSelectionMode(QAbstractItemView::NoSelection);
		auto *catalog_box = new QGroupBox(text("Dock.Catalog"), this);
		auto *catalog_layout = new QVBoxLayout(catalog_box);
		catalog_layout->addWidget(catalog);
		layout->addWidget(catalog_box, 1);

		auto *countdown_box =
		    new QGroupBox(text("Dock.Countdown"), this);
		auto *countdown_row = new QHBoxLayout(countdown_box);
		countdown_seconds = new QSpinBox(countdown_box);
		countdown_seconds->setRange(1, 24 * 3600);
		countdown_seconds->setSuffix(text("Dock.Seconds"));
		countdown_start =
		    new QPushButton(text("Dock.CountdownStart"), countdown_box);
		countdown_stop =
		    new QPushButton(text("Dock.CountdownStop"), countdown_box);
		countdown_state = new QLabel(countdown_box);
		countdown_row->addWidget(countdown_seconds);
		countdown_row->addWidget(countdown_start);
		countdown_row->addWidget(countdown_stop);
		countdown_row->addWidget(countdown_state, 1);
		layout->addWidget(countdown_box);

		auto *disclosure_box =
		    new QGroupBox(text("Dock.Disclosure"), this);
		auto *disclosure_row = new QHBoxLayout(disclosure_box);
		disclosure_kind = new QComboBox(disclosure_box);
		for (const char *kind : kinds)
			disclosure_kind->addItem(
			    text(
				(QByteArray("Disclosure.") + kind).constData()),
			    QString::fromUtf8(kind));
		disclosure_toggle = new QPushButton(disclosure_box);
		disclosure_row->addWidget(disclosure_kind, 1);
		disclosure_row->addWidget(disclosure_toggle);
		layout->addWidget(disclosure_box);

		build_questions(layout);
		build_poll(layout);

		auto *purchases_box =
		    new QGroupBox(text("Dock.Purchases"), this);
		auto *purchases_layout = new QVBoxLayout(purchases_box);
		purchases = new QListWidget(purchases_box);
		purchases->setMaximumHeight(120);
		purchases_layout->addWidget(purchases);
		layout->addWidget(purchases_box);

		build_settings(layout);

		connect(unpin, &QPushButton::clicked, this, [this]() {
			act([](shop_link *l, int64_t at, lshop_error *e) {
				return shop_link_unpin(l, at, e);
			});
		});
		connect(countdown_start, &QPushButton::clicked, this, [this]() {
			int64_t secs = countdown_seconds->value();
			act([secs](shop_link *l, int64_t at, lshop_error *e) {
				return shop_link_countdown(l, secs, nullptr,
							   nullptr, at, e);
			});
		});
		connect(countdown_stop, &QPushButton::clicked, this, [this]() {
			act([](shop_link *l, int64_t at, lshop_error *e) {
				return shop_link_countdown_stop(l, at, e);
			});
		});
		connect(disclosure_toggle, &QPushButton::clicked, this,
			[this]() {
				QByteArray kind = disclosure_kind->currentData()
						      .toString()
						      .toUtf8();
				bool show = !view->disclosure;
				act([show, kind](shop_link *l, int64_t at,
						 lshop_error *e) {
					return shop_link_disclosure(
					    l, show,
					    show ? kind.constData() : nullptr,
					    nullptr, at, e);
				});
			});

		view = std::make_unique<shop_view>();
		view->generation = 0;
		questions = std::make_unique<shop_questions>();
		questions->generation = 0;
		load_settings_fields();
		refresh(true);
		timer = new QTimer(this);
		connect(timer, &QTimer::timeout, this,
			[this]() { refresh(false); });
		timer->start(250);
	}

	~LiveShopDock() override
	{
		shop_link *link = live_shop_link();

		if (link && watching)
			shop_link_watch_questions(link, 0);
	}

      private:
	template <typename F> void act(F action)
	{
		shop_link *link = live_shop_link();
		lshop_error err;

		if (!link)
			return;
		if (action(link, live_shop_now_ms(), &err) != 0) {
			message->setText(QString::fromUtf8(err.message));
			ls_log(LOG_INFO, "dock: %s (%s)", err.message,
			       err.code);
		} else {
			message->clear();
		}
		refresh(false);
	}

	void build_questions(QVBoxLayout *layout)
	{
		auto *box = new QGroupBox(text("Dock.Questions"), this);
		auto *inner = new QVBoxLayout(box);

		question_pinned = new QLabel(box);
		question_pinned->setWordWrap(true);
		question_pinned->setTextFormat(Qt::PlainText);
		unpin_question = row_button(box, "Dock.UnpinQuestion",
					    text("Dock.UnpinQuestion"));
		auto *row = new QHBoxLayout();
		row->addWidget(question_pinned, 1);
		row->addWidget(unpin_question);
		inner->addLayout(row);

		answer_edit = new QLineEdit(box);
		answer_edit->setPlaceholderText(text("Dock.AnswerPlaceholder"));
		answer_edit->setAccessibleName(text("Dock.AnswerField"));
		answer_edit->setMaxLength(LSHOP_QUESTION_CHARS);
		inner->addWidget(answer_edit);

		questions_line = new QLabel(box);
		questions_line->setWordWrap(true);
		inner->addWidget(questions_line);
		question_table = new QTableWidget(0, 5, box);
		question_table->setHorizontalHeaderLabels(
		    {text("Dock.Question"), QString(), QString(), QString(),
		     QString()});
		question_table->horizontalHeader()->setSectionResizeMode(
		    0, QHeaderView::Stretch);
		question_table->setEditTriggers(
		    QAbstractItemView::NoEditTriggers);
		question_table->setSelectionMode(
		    QAbstractItemView::NoSelection);
		question_table->setWordWrap(true);
		question_table->setAccessibleName(text("Dock.Questions"));
		question_table->setMinimumHeight(120);
		inner->addWidget(question_table, 1);

		auto *answers_label =
		    new QLabel(text("Dock.SavedAnswers"), box);
		inner->addWidget(answers_label);
		answer_table = new QTableWidget(0, 3, box);
		answer_table->setHorizontalHeaderLabels(
		    {text("Dock.SavedAnswer.Question"),
		     text("Dock.SavedAnswer.Answer"), QString()});
		answer_table->horizontalHeader()->setSectionResizeMode(
		    0, QHeaderView::Stretch);
		answer_table->horizontalHeader()->setSectionResizeMode(
		    1, QHeaderView::Stretch);
		answer_table->setEditTriggers(
		    QAbstractItemView::NoEditTriggers);
		answer_table->setSelectionMode(QAbstractItemView::NoSelection);
		answer_table->setAccessibleName(text("Dock.SavedAnswers"));
		answer_table->setMaximumHeight(160);
		inner->addWidget(answer_table);
		layout->addWidget(box, 1);

		connect(unpin_question, &QPushButton::clicked, this, [this]() {
			act([](shop_link *l, int64_t at, lshop_error *e) {
				return shop_link_question_unpin(l, at, e);
			});
		});
	}

	void build_poll(QVBoxLayout *layout)
	{
		auto *box = new QGroupBox(text("Dock.Poll"), this);
		auto *form = new QFormLayout(box);

		poll_question = new QLineEdit(box);
		poll_question->setMaxLength(LSHOP_QUESTION_CHARS);
		poll_question->setAccessibleName(text("Dock.Poll.Question"));
		form->addRow(text("Dock.Poll.Question"), poll_question);
		for (int i = 0; i < LSHOP_POLL_OPTIONS_MAX; i++) {
			QString name = text("Dock.Poll.Option").arg(i + 1);

			poll_option[i] = new QLineEdit(box);
			poll_option[i]->setMaxLength(LSHOP_POLL_OPTION_CHARS);
			poll_option[i]->setAccessibleName(name);
			if (i >= LSHOP_POLL_OPTIONS_MIN)
				poll_option[i]->setPlaceholderText(
				    text("Dock.Poll.OptionOptional"));
			form->addRow(name, poll_option[i]);
		}
		poll_seconds = new QSpinBox(box);
		poll_seconds->setRange(LSHOP_POLL_SECONDS_MIN,
				       LSHOP_POLL_SECONDS_MAX);
		poll_seconds->setValue(60);
		poll_seconds->setSuffix(text("Dock.Seconds"));
		poll_seconds->setAccessibleName(text("Dock.Poll.Length"));
		form->addRow(text("Dock.Poll.Length"), poll_seconds);
		poll_start =
		    row_button(box, "Dock.Poll.Start", text("Dock.Poll.Start"));
		poll_end =
		    row_button(box, "Dock.Poll.End", text("Dock.Poll.End"));
		auto *buttons = new QHBoxLayout();
		buttons->addWidget(poll_start);
		buttons->addWidget(poll_end);
		form->addRow(QString(), buttons);
		poll_state = new QLabel(box);
		poll_state->setWordWrap(true);
		poll_state->setTextFormat(Qt::PlainText);
		form->addRow(poll_state);
		layout->addWidget(box);

		connect(poll_start, &QPushButton::clicked, this, [this]() {
			QByteArray q = poll_question->text().toUtf8();
			std::vector<QByteArray> opts;

			for (QLineEdit *e : poll_option)
				if (!e->text().trimmed().isEmpty())
					opts.push_back(e->text().toUtf8());
			int64_t secs = poll_seconds->value();
			act([q, opts, secs](shop_link *l, int64_t at,
					    lshop_error *e) {
				const char *o[LSHOP_POLL_OPTIONS_MAX];
				int n = 0;

				for (const QByteArray &b : opts)
					if (n < LSHOP_POLL_OPTIONS_MAX)
						o[n++] = b.constData();
				return shop_link_poll_start(
				    l, q.constData(), o,
				    opts.size() > LSHOP_POLL_OPTIONS_MAX
					? (int)opts.size()
					: n,
				    secs, at, e);
			});
		});
		connect(poll_end, &QPushButton::clicked, this, [this]() {
			act([](shop_link *l, int64_t at, lshop_error *e) {
				return shop_link_poll_end(l, at, e);
			});
		});
	}

	/* The waiting questions and the saved answers, when they moved. */
	void refresh_questions(shop_link *link, bool force)
	{
		bool visible = isVisible();

		if (visible != watching) {
			shop_link_watch_questions(link, visible);
			watching = visible;
		}
		if (!shop_link_questions(link, questions.get()) && !force)
			return;
		const shop_questions &qs = *questions;
		int held = 0;

		question_table->setRowCount((int)qs.n);
		for (size_t i = 0; i < qs.n; i++) {
			const shop_waiting_question &q = qs.q[i];
			int row = (int)i;
			QString who = q.name[0] ? QString::fromUtf8(q.name)
						: text("Dock.Anonymous");
			QString line = text("Dock.QuestionLine")
					   .arg(who, QString::fromUtf8(q.text));
			QByteArray id(q.id);

			if (q.held) {
				line = text("Dock.Question.Held") +
				       QStringLiteral(" ") + line;
				held++;
			}
			auto *item = question_table->item(row, 0);
			if (!item) {
				item = new QTableWidgetItem();
				question_table->setItem(row, 0, item);
			}
			item->setText(line);
			item->setToolTip(q.held ? text("Dock.Question.HeldWhy")
						: QString());
			item->setData(Qt::AccessibleTextRole, line);

			auto *pin =
			    row_button(question_table, "Dock.Pin",
				       text("Dock.PinQuestion").arg(who));
			auto *pin_answer = row_button(
			    question_table, "Dock.PinWithAnswer",
			    text("Dock.PinQuestionWithAnswer").arg(who));
			auto *dismiss =
			    row_button(question_table, "Dock.Dismiss",
				       text("Dock.DismissQuestion").arg(who));
			auto *block =
			    row_button(question_table, "Dock.Block",
				       text("Dock.BlockAsker").arg(who));
			question_table->setCellWidget(row, 1, pin);
			question_table->setCellWidget(row, 2, pin_answer);
			question_table->setCellWidget(row, 3, dismiss);
			question_table->setCellWidget(row, 4, block);
			connect(pin, &QPushButton::clicked, this, [this, id]() {
				act([id](shop_link *l, int64_t at,
					 lshop_error *e) {
					return shop_link_question_pin(
					    l, id.constData(), nullptr, at, e);
				});
			});
			connect(pin_answer, &QPushButton::clicked, this,
				[this, id]() {
					QByteArray a =
					    answer_edit->text().toUtf8();
					act([id, a](shop_link *l, int64_t at,
						    lshop_error *e) {
						return shop_link_question_pin(
						    l, id.constData(),
						    a.constData(), at, e);
					});
				});
			connect(
			    dismiss, &QPushButton::clicked, this, [this, id]() {
				    act([id](shop_link *l, int64_t at,
					     lshop_error *e) {
					    return shop_link_question_dismiss(
						l, id.constData(), at, e);
				    });
			    });
			connect(block, &QPushButton::clicked, this,
				[this, id]() {
					act([id](shop_link *l, int64_t at,
						 lshop_error *e) {
						return shop_link_question_block(
						    l, id.constData(), at, e);
					});
				});
		}
		question_table->resizeRowsToContents();
		if (!qs.have)
			set_label(questions_line,
				  text("Dock.QuestionsUnknown"));
		else
			set_label(
			    questions_line,
			    text("Dock.QuestionsWaiting")
				.arg(QString::number(qs.n),
				     QString::number(held),
				     QString::number(qs.blocked_sessions)));

		answer_table->setRowCount((int)qs.nanswers);
		for (size_t i = 0; i < qs.nanswers; i++) {
			const lshop_saved_answer &a = qs.answers[i];
			int row = (int)i;
			QByteArray id(a.id);
			QString question = QString::fromUtf8(a.question);

			set_item(answer_table, row, 0, question);
			set_item(answer_table, row, 1,
				 QString::fromUtf8(a.answer));
			auto *pin = row_button(
			    answer_table, "Dock.Pin",
			    text("Dock.PinSavedAnswer").arg(question));
			answer_table->setCellWidget(row, 2, pin);
			connect(pin, &QPushButton::clicked, this, [this, id]() {
				act([id](shop_link *l, int64_t at,
					 lshop_error *e) {
					return shop_link_answer_pin(
					    l, id.constData(), at, e);
				});
			});
		}
		/* slots 1-9 for the hotkeys: the row numbers */
	}

	/* The pinned question and the poll, from the view. */
	void refresh_interaction(const shop_view &v)
	{
		if (v.question_pinned) {
			QString who = v.question.name[0]
					  ? QString::fromUtf8(v.question.name)
					  : text("Dock.Anonymous");
			QString s =
			    text("Dock.QuestionPinned")
				.arg(who, QString::fromUtf8(v.question.text));
			if (v.question.answer[0])
				s += QStringLiteral("\n") +
				     text("Dock.QuestionAnswer")
					 .arg(QString::fromUtf8(
					     v.question.answer));
			set_label(question_pinned, s);
		} else {
			set_label(question_pinned,
				  text("Dock.NoQuestionPinned"));
		}
		unpin_question->setEnabled(v.question_pinned);
		poll_end->setEnabled(v.poll_live);
		update_poll();
	}

	void update_poll()
	{
		const shop_view &v = *view;
		int64_t total = 0;
		QStringList lines;

		if (!v.poll_shown) {
			set_label(poll_state, text("Dock.Poll.None"));
			return;
		}
		for (int i = 0; i < v.poll.options_n; i++)
			total += v.poll.counts[i];
		lines << QString::fromUtf8(v.poll.question);
		for (int i = 0; i < v.poll.options_n; i++)
			lines << QStringLiteral("%1: %2").arg(
			    QString::fromUtf8(v.poll.options[i]),
			    tally_text(v.poll.counts[i], total));
		if (v.poll_live) {
			int64_t left =
			    (v.poll.ends_at_ms - live_shop_now_ms() + 999) /
			    1000;
			if (left < 0)
				left = 0;
			lines << text("Dock.Poll.Running")
				     .arg(QString::number(v.poll_votes),
					  QString::asprintf(
					      "%02lld:%02lld",
					      (long long)(left / 60),
					      (long long)(left % 60)));
		} else {
			lines << text("Dock.Poll.Ended")
				     .arg(QString::number(total));
		}
		set_label(poll_state, lines.join(QStringLiteral("\n")));
	}

	static void set_item(QTableWidget *t, int row, int col,
			     const QString &s)
	{
		QTableWidgetItem *item = t->item(row, col);
		if (!item)
			t->setItem(row, col, new QTableWidgetItem(s));
		else if (item->text() != s)
			item->setText(s);
	}

	void build_settings(QVBoxLayout *layout)
	{
		message = new QLabel(this);
		message->setWordWrap(true);
		layout->addWidget(message);

		auto *box = new QGroupBox(text("Dock.Settings"), this);
		box->setCheckable(true);
		box->setChecked(false);
		auto *inner = new QWidget(box);
		auto *form = new QFormLayout(inner);
		server = new QLineEdit(inner);
		server->setPlaceholderText("http://127.0.0.1:8080/shop/");
		stream = new QLineEdit(inner);
		stream->setPlaceholderText("live/demo");
		token = new QLineEdit(inner);
		token->setEchoMode(QLineEdit::Password);
		default_seconds = new QSpinBox(inner);
		default_seconds->setRange(1, 24 * 3600);
		default_seconds->setSuffix(text("Dock.Seconds"));
		default_kind = new QComboBox(inner);
		for (const char *kind : kinds)
			default_kind->addItem(
			    text(
				(QByteArray("Disclosure.") + kind).constData()),
			    QString::fromUtf8(kind));
		auto *save = new QPushButton(text("Dock.Settings.Save"), inner);
		form->addRow(text("Settings.Server"), server);
		form->addRow(text("Settings.Stream"), stream);
		form->addRow(text("Settings.Token"), token);
		form->addRow(text("Settings.CountdownSeconds"),
			     default_seconds);
		form->addRow(text("Settings.DisclosureKind"), default_kind);
		form->addRow(QString(), save);
		auto *box_layout = new QVBoxLayout(box);
		box_layout->addWidget(inner);
		inner->setVisible(false);
		connect(box, &QGroupBox::toggled, inner, &QWidget::setVisible);
		connect(save, &QPushButton::clicked, this,
			[this]() { save_settings(); });
		layout->addWidget(box);
	}

	void load_settings_fields()
	{
		shop_link *link = live_shop_link();
		shop_settings s;

		if (!link)
			return;
		shop_link_settings(link, &s);
		server->setText(QString::fromUtf8(s.server));
		stream->setText(QString::fromUtf8(s.stream));
		token->setText(QString::fromUtf8(s.token));
		default_seconds->setValue((int)s.countdown_seconds);
		countdown_seconds->setValue((int)s.countdown_seconds);
		int i = default_kind->findData(
		    QString::fromUtf8(s.disclosure_kind));
		if (i >= 0) {
			default_kind->setCurrentIndex(i);
			disclosure_kind->setCurrentIndex(i);
		}
	}

	void save_settings()
	{
		shop_link *link = live_shop_link();
		shop_settings s;
		lshop_error err;

		if (!link)
			return;
		shop_link_settings(link, &s);
		snprintf(s.server, sizeof(s.server), "%s",
			 server->text().trimmed().toUtf8().constData());
		snprintf(s.stream, sizeof(s.stream), "%s",
			 stream->text().trimmed().toUtf8().constData());
		snprintf(s.token, sizeof(s.token), "%s",
			 token->text().trimmed().toUtf8().constData());
		s.countdown_seconds = default_seconds->value();
		snprintf(s.disclosure_kind, sizeof(s.disclosure_kind), "%s",
			 default_kind->currentData()
			     .toString()
			     .toUtf8()
			     .constData());
		if (live_shop_apply_settings(&s, &err) != 0)
			message->setText(QString::fromUtf8(err.message));
		else
			message->setText(text("Dock.Settings.Saved"));
	}

	void refresh(bool force)
	{
		shop_link *link = live_shop_link();
		uint64_t before = view->generation;

		if (!link)
			return;
		shop_link_view(link, view.get());
		refresh_questions(link, force);
		if (!force && view->generation == before) {
			update_countdown();
			if (view->poll_live)
				update_poll();
			return;
		}
		const shop_view &v = *view;

		QString st = status_text(v.status);
		if (v.status_message[0])
			st += QStringLiteral(": ") +
			      QString::fromUtf8(v.status_message);
		if (v.pending)
			st += QStringLiteral(" (") +
			      text("Dock.Pending").arg(v.pending) +
			      QStringLiteral(")");
		status->setText(st);

		/* a count from a stream no longer read is not "now" */
		set_label(
		    viewers_line,
		    viewers_text(v.status == SHOP_ONLINE ? v.viewers : -1));
		set_label(show_line, show_text(v));

		if (v.pinned)
			pinned->setText(
			    text("Dock.Pinned")
				.arg(QString::fromUtf8(v.offer.title),
				     stock_text(v.offer_stock)));
		else
			pinned->setText(text("Dock.NothingPinned"));
		unpin->setEnabled(v.pinned);

		catalog->setRowCount((int)v.ncatalog);
		for (size_t i = 0; i < v.ncatalog; i++) {
			const shop_catalog_entry &e = v.catalog[i];
			int row = (int)i;
			QString price = QString::fromUtf8(e.price) +
					QStringLiteral(" ") +
					QString::fromUtf8(e.currency);

			set_cell(row, 0, QString::fromUtf8(e.title));
			set_cell(row, 1, price);
			set_cell(row, 2, stock_text(e.stock));
			auto *pin = qobject_cast<QPushButton *>(
			    catalog->cellWidget(row, 3));
			if (!pin) {
				pin =
				    new QPushButton(text("Dock.Pin"), catalog);
				catalog->setCellWidget(row, 3, pin);
			}
			QByteArray id(e.id);
			pin->disconnect();
			connect(pin, &QPushButton::clicked, this, [this, id]() {
				act([id](shop_link *l, int64_t at,
					 lshop_error *err) {
					return shop_link_pin(l, id.constData(),
							     at, err);
				});
			});
			pin->setEnabled(
			    !(v.pinned && strcmp(v.offer.id, e.id) == 0));
		}

		disclosure_toggle->setText(v.disclosure
					       ? text("Dock.DisclosureHide")
					       : text("Dock.DisclosureShow"));
		disclosure_toggle->setEnabled(!v.disclosure_required);
		disclosure_toggle->setToolTip(
		    v.disclosure_required ? text("Dock.DisclosureRequired")
					  : QString());

		purchases->clear();
		for (size_t i = 0; i < v.npurchases; i++) {
			const shop_purchase &p = v.purchases[i];
			QString when =
			    QDateTime::fromMSecsSinceEpoch(p.at_ms).toString(
				"HH:mm:ss");
			purchases->addItem(
			    text("Dock.Purchase")
				.arg(when)
				.arg(p.quantity)
				.arg(QString::fromUtf8(p.offer_id)));
		}
		refresh_interaction(v);
		update_countdown();
	}

	void update_countdown()
	{
		countdown_stop->setEnabled(view->countdown != 0);
		if (!view->countdown) {
			countdown_state->clear();
			return;
		}
		int64_t left =
		    (view->countdown_ends_at_ms - live_shop_now_ms() + 999) /
		    1000;
		if (left < 0)
			left = 0;
		countdown_state->setText(
		    QString::asprintf("%02lld:%02lld", (long long)(left / 60),
				      (long long)(left % 60)));
	}

	void set_cell(int row, int col, const QString &s)
	{
		QTableWidgetItem *item = catalog->item(row, col);
		if (!item)
			catalog->setItem(row, col, new QTableWidgetItem(s));
		else if (item->text() != s)
			item->setText(s);
	}

	std::unique_ptr<shop_view> view;
	std::unique_ptr<shop_questions> questions;
	bool watching = false;
	QTimer *timer;
	QLabel *question_pinned, *questions_line, *poll_state;
	QPushButton *unpin_question, *poll_start, *poll_end;
	QLineEdit *answer_edit, *poll_question;
	QLineEdit *poll_option[LSHOP_POLL_OPTIONS_MAX];
	QSpinBox *poll_seconds;
	QTableWidget *question_table, *answer_table;
	QLabel *status, *viewers_line, *show_line, *pinned;
	QLabel *countdown_state, *message;
	QPushButton *unpin, *countdown_start, *countdown_stop;
	QPushButton *disclosure_toggle;
	QTableWidget *catalog;
	QSpinBox *countdown_seconds, *default_seconds;
	QComboBox *disclosure_kind, *default_kind;
	QListWidget *purchases;
	QLineEdit *server, *stream, *token;
};

} // namespace

extern "C" int live_shop_dock_have_app(void)
{
	return qobject_cast<QApplication *>(QCoreApplication::instance()) !=
	       nullptr;
}

extern "C" void *live_shop_dock_new(void *main_window)
{
	/* questions, answers and the poll make it taller than most docks */
	auto *scroll = new QScrollArea(static_cast<QWidget *>(main_window));
	auto *dock = new LiveShopDock(scroll);
	dock->setObjectName("LiveShopDockContent");
	scroll->setObjectName("LiveShopDockScroll");
	scroll->setWidgetResizable(true);
	scroll->setFrameShape(QFrame::NoFrame);
	scroll->setWidget(dock);
	return scroll;
}

extern "C" void *live_shop_dock_wrap(void *main_window, void *content,
				     const char *id, const char *title)
{
	auto *dock = new QDockWidget(static_cast<QWidget *>(main_window));
	dock->setObjectName(QString::fromUtf8(id));
	dock->setWindowTitle(QString::fromUtf8(title));
	dock->setWidget(static_cast<QWidget *>(content));
	dock->setFeatures(QDockWidget::DockWidgetClosable |
			  QDockWidget::DockWidgetMovable |
			  QDockWidget::DockWidgetFloatable);
	return dock;
}
