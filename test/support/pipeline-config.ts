/**
 * Pipeline configuration edits the tests share: a configuration as GET
 * /v1/admin/pipeline returns it is changed in place, then PUT back by the test.
 */

interface MenuNode {
  id: string;
  children?: MenuNode[];
  channels?: string[];
}

/** The menu option `optionId` (default `other`, the demo's "Something else") offers chat beside voice. */
export function offerChatOn(menu: readonly unknown[], optionId = 'other'): void {
  const walk = (nodes: readonly MenuNode[]): void => {
    for (const n of nodes) {
      if (n.children) walk(n.children);
      else if (n.id === optionId) n.channels = ['voice', 'chat'];
    }
  };
  walk(menu as MenuNode[]);
}
