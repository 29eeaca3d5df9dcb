/* The "Live Shop" dock: a thin Qt layer over shop_link (dock.cpp). */
#ifndef LIVE_SHOP_DOCK_H
#define LIVE_SHOP_DOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 inside OBS's frontend (a QApplication exists), else 0. */
int live_shop_dock_have_app(void);

/* The dock's content, a QWidget * parented to the main window. */
void *live_shop_dock_new(void *main_window);

/*
 * OBS 29 takes a QDockWidget (obs_frontend_add_dock): wraps content in
 * one named id with title. OBS 30+ wraps it itself (add_dock_by_id).
 */
void *live_shop_dock_wrap(void *main_window, void *content, const char *id,
			  const char *title);

#ifdef __cplusplus
}
#endif

#endif
