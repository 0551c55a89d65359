// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// The page is a thin entry: the board lives in public/js/pipeline_board.bundle.js.
frappe.pages["pipeline-board"].on_page_load = function (wrapper) {
	const page = frappe.ui.make_app_page({
		parent: wrapper,
		title: __("Pipeline Board"),
		single_column: true,
	});
	frappe.require(["pipeline_board.bundle.js", "pipeline_board.bundle.css"]).then(() => {
		wrapper.pipeline_board = new pipeline_app.PipelineBoard(wrapper, page);
	});
};

frappe.pages["pipeline-board"].on_page_show = function (wrapper) {
	wrapper.pipeline_board?.on_show();
};
