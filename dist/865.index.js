export const id = 865;
export const ids = [865];
export const modules = {

/***/ 24865:
/***/ ((module) => {

function webpackEmptyContext(req) {
	var e = new Error("Cannot find module '" + req + "'");
	e.code = 'MODULE_NOT_FOUND';
	throw e;
}
webpackEmptyContext.keys = () => ([]);
webpackEmptyContext.resolve = webpackEmptyContext;
webpackEmptyContext.id = 24865;
module.exports = webpackEmptyContext;

/***/ })

};
