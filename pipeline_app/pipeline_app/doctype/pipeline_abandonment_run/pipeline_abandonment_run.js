// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.ui.form.on("Pipeline Abandonment Run", {
	refresh(frm) {
		const managers = ["Pipeline Manager", "System Manager"];
		if (frm.doc.undone_on || !managers.some((role) => frappe.user.has_role(role))) return;
		frm.add_custom_button(__("Undo run"), () =>
			frappe.confirm(
				__("Reopen the {0} opportunities this run abandoned (those still abandoned)?", [
					frm.doc.abandoned_count,
				]),
				async () => {
					const { message } = await frappe.call({
						method: "pipeline_app.pipeline_app.doctype.pipeline_abandonment_run.pipeline_abandonment_run.undo",
						args: { run: frm.doc.name },
						freeze: true,
					});
					frappe.show_alert({
						message: __("{0} reopened, {1} left as they were", [
							message.reopened,
							message.skipped,
						]),
						indicator: "green",
					});
					frm.reload_doc();
				}
			)
		);
	},
});
