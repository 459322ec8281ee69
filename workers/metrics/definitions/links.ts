/**
 * The live work item links that make one item block another: those whose type (the source's own name,
 * such as Jira's 'Blocks', or the product's link kind, 'blocks') is one of model.workItems.blockingLinkTypes,
 * compared in lower case. The from item blocks the to item. Reads {blocking_link_types:Array(String)}
 * (metricParams). The dependency and stall metrics, and the stall alerts (what is stalled, and whether a
 * link is still there when a stall ends), all read the links through this.
 */
export const BLOCKING_LINKS = `(SELECT * FROM work_item_links FINAL
    WHERE has({blocking_link_types:Array(String)}, lower(raw_type)) OR has({blocking_link_types:Array(String)}, lower(toString(link_type))))`;
