"use client";

import { useEffect, useRef, useState } from "react";

import { SEARCH_MAX_LENGTH } from "@/lib/tasks";

/** How long typing pauses before the list is searched: one request per pause, not per key. */
export const SEARCH_DEBOUNCE_MS = 250;

/**
 * Search the tasks as you type: the words of titles and descriptions, by their start,
 * ignoring case and accents. Enter searches at once; Escape or "Clear" ends the search.
 */
export function SearchBox({
  searched,
  matches,
  onSearch,
}: {
  /** The words the list is searched for now ("" when it is not). */
  searched: string;
  /** How many tasks match, once known. */
  matches: number | null;
  onSearch: (text: string) => void;
}) {
  const [text, setText] = useState(searched);
  const input = useRef<HTMLInputElement>(null);
  // The words last asked for (so a pause asks once), and the latest handler.
  const sent = useRef(searched);
  const handler = useRef(onSearch);
  useEffect(() => {
    handler.current = onSearch;
  });

  useEffect(() => {
    const words = text.trim();
    if (words === sent.current) return;
    const timer = setTimeout(() => {
      sent.current = words;
      handler.current(words);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text]);

  function searchNow(words: string) {
    sent.current = words;
    onSearch(words);
  }

  function clear() {
    setText("");
    searchNow("");
    input.current?.focus();
  }

  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(event) => {
        event.preventDefault();
        searchNow(text.trim());
      }}
    >
      <label htmlFor="task-search">Search</label>
      <input
        ref={input}
        id="task-search"
        type="search"
        value={text}
        maxLength={SEARCH_MAX_LENGTH}
        autoComplete="off"
        placeholder="Words in titles and descriptions"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape" && text !== "") {
            event.preventDefault();
            clear();
          }
        }}
      />
      {text !== "" ? (
        <button type="button" className="secondary" onClick={clear}>
          Clear search
        </button>
      ) : null}
      <span role="status" className="muted search-matches">
        {searched !== "" && matches !== null
          ? `${matches === 1 ? "1 task matches" : `${matches} tasks match`} “${searched}”`
          : null}
      </span>
    </form>
  );
}
