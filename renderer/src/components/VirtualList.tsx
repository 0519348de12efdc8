import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { visibleRange } from './virtual-range.ts';

interface VirtualListProps<T> {
  items: readonly T[];
  /** Every row has this height (px): the list is windowed by scrollTop, so thousands of rows cost a screenful. */
  rowHeight: number;
  label: string;
  getKey(item: T): string;
  renderRow(item: T, index: number): ReactNode;
  empty?: ReactNode;
}

/** A windowed list: only the rows in view (plus a few) are in the DOM. */
export function VirtualList<T>({ items, rowHeight, label, getKey, renderRow, empty }: VirtualListProps<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const { start, end } = visibleRange(items.length, rowHeight, scrollTop, height || 800);
  return (
    <div
      ref={ref}
      className="vlist"
      tabIndex={0}
      role="region"
      aria-label={`${label}, scrollable`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      {items.length === 0 && empty}
      <div role="list" aria-label={label} className="vlist-body" style={{ height: items.length * rowHeight }}>
        {items.slice(start, end).map((item, i) => (
          <div
            role="listitem"
            aria-setsize={items.length}
            aria-posinset={start + i + 1}
            key={getKey(item)}
            className="vlist-row"
            style={{ top: (start + i) * rowHeight, height: rowHeight }}
          >
            {renderRow(item, start + i)}
          </div>
        ))}
      </div>
    </div>
  );
}
